"""History of generated images shown to the discriminator (Shrivastava et al. 2017; CycleGAN §4)."""

import random

import torch


class ImagePool:
    """Returns, per image, either that image or (with probability 1/2 once full) an older one it replaces.

    ``pool_size == 0`` turns the pool off (pix2pix). Uses Python's ``random`` like the reference, so the
    draws are part of the random state that exact resume restores.
    """

    def __init__(self, pool_size: int):
        self.pool_size = pool_size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.pool_size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                idx = random.randint(0, self.pool_size - 1)
                out.append(self.images[idx].clone())
                self.images[idx] = image
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        return {"pool_size": self.pool_size, "images": [im.cpu() for im in self.images]}

    def load_state_dict(self, state: dict, device: torch.device | None = None) -> None:
        self.pool_size = state["pool_size"]
        self.images = [im.to(device) if device is not None else im for im in state["images"]]
