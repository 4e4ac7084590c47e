"""Built-in synthetic datasets, so the project trains and tests with no download (pure numpy + Pillow).

* ``make_paired_dataset``: facades_synth, a facades-like label → photo set in the aligned A|B format.
  A (left) is a label map of flat colours (sky, wall, cornice, windows, door, balconies); B (right) is the
  same layout rendered as a "photo" with brick courses, shading, glass reflections, planks and railings.
  Note: the real facades set stores photo|label (trained with --direction BtoA); here A is the label, so
  the default --direction AtoB learns label → photo.
* ``make_unpaired_dataset``: shapes2synth, two domains for CycleGAN: A = flat cartoon shapes on white,
  B = the same kind of scenes shaded and striped on a dark gradient, with other colours. trainA and trainB
  come from different random scenes; each test image also has its true translation with the same file
  name (testA/x.png → testB_gt/x.png, testB/y.png → testA_gt/y.png), so unpaired results can be scored.

Everything is a function of the seed (same seed, same bytes). Every texture is symmetric left-right within
its shape, so horizontal-flip augmentation keeps the A → B mapping a function.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
from PIL import Image

from util.errors import UserError

# Label colours of facades_synth (A) by class; B renders each class in `_render_facade`.
FACADE_LABELS = {
    "sky": (30, 30, 140),
    "wall": (0, 90, 255),
    "cornice": (255, 60, 60),
    "window": (0, 220, 255),
    "door": (255, 170, 0),
    "balcony": (170, 255, 80),
}
_CLASS = {name: i for i, name in enumerate(FACADE_LABELS)}

# shapes2synth: colour of each of the three shape classes in domain A (flat) and domain B (shaded).
SHAPE_COLOURS_A = ((220, 40, 40), (40, 170, 60), (40, 80, 220))
SHAPE_COLOURS_B = ((240, 180, 40), (150, 60, 190), (40, 200, 200))
SHAPE_KINDS = ("circle", "square", "triangle")
# Backgrounds: A is flat; B is a vertical gradient from the top colour to the bottom one.
BACKGROUND_A = (240, 240, 240)
BACKGROUND_B = ((40, 40, 60), (95, 85, 70))

# Marks a folder written here, so regenerating may replace it but a user's own folder is never touched.
MARKER = "BUILTIN_DATASET.txt"


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _prepare_root(root: str, subfolders: tuple[str, ...], description: str) -> None:
    """Create `root` (replacing a previous built-in dataset there, refusing any other non-empty folder)."""
    if os.path.isdir(root) and os.listdir(root) and not os.path.isfile(os.path.join(root, MARKER)):
        raise UserError(f"{root} exists and is not a built-in dataset; choose an empty or new --out folder")
    for sub in subfolders:
        shutil.rmtree(os.path.join(root, sub), ignore_errors=True)
        os.makedirs(os.path.join(root, sub))
    with open(os.path.join(root, MARKER), "w") as f:
        f.write(description + "\n")


def _check_size(size: int) -> None:
    if size < 32:
        raise UserError(
            f"--size {size} is too small for the scenes to be readable; use 32 or more (default 64)"
        )


# ---------------------------------------------------------------- facades_synth


def _facade_layout(rng: np.random.Generator, size: int) -> list[tuple[str, int, int, int, int]]:
    """Rectangles (class, x0, y0, x1, y1), drawn in order: later ones cover earlier ones."""
    s = size
    sky = int(rng.integers(0, int(0.15 * s) + 1))
    cornice = max(2, s // 20)
    door_w, door_h = int(rng.uniform(0.13, 0.18) * s), int(rng.uniform(0.22, 0.28) * s)
    rects = [("sky", 0, 0, s, sky), ("cornice", 0, sky, s, sky + cornice), ("wall", 0, sky + cornice, s, s)]
    cols, rows = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    top, bottom = sky + cornice + max(2, s // 32), s - door_h - max(2, s // 32)
    cell_w, floor_h = s / cols, (bottom - top) / rows
    win_w, win_h = rng.uniform(0.45, 0.65) * cell_w, rng.uniform(0.5, 0.7) * floor_h
    for r in range(rows):
        y0 = int(top + r * floor_h + (floor_h - win_h) / 2)
        balcony = rng.random() < 0.35
        for c in range(cols):
            x0 = int(c * cell_w + (cell_w - win_w) / 2)
            rects.append(("window", x0, y0, x0 + int(win_w), y0 + int(win_h)))
            if balcony:  # covers the lower third of the window and sticks out on both sides
                pad = max(1, s // 64)
                rects.append(
                    ("balcony", x0 - pad, y0 + int(win_h * 2 / 3), x0 + int(win_w) + pad, y0 + int(win_h))
                )
    door_x = int(rng.uniform(0.1, 0.9 - door_w / s) * s)
    rects.append(("door", door_x, s - door_h, door_x + door_w, s))
    return rects


def _rasterize(rects: list, size: int) -> tuple[np.ndarray, ...]:
    """Per pixel: class index, position within its rectangle (u, v in [0, 1]; row in pixels from its top)
    and distance to its edge in pixels."""
    label = np.zeros((size, size), np.int64)
    u, v, row, edge = (np.zeros((size, size)) for _ in range(4))
    yy, xx = np.mgrid[0:size, 0:size]
    for name, x0, y0, x1, y1 in rects:
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(size, x1), min(size, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        box = (slice(y0, y1), slice(x0, x1))
        label[box] = _CLASS[name]
        u[box] = (xx[box] - x0) / max(1, x1 - x0 - 1)
        v[box] = (yy[box] - y0) / max(1, y1 - y0 - 1)
        row[box] = yy[box] - y0
        edge[box] = np.minimum.reduce([xx[box] - x0, x1 - 1 - xx[box], yy[box] - y0, y1 - 1 - yy[box]])
    return label, u, v, row, edge


def _render_facade(label, u, v, row, edge, rng: np.random.Generator) -> np.ndarray:
    """The "photo": a colour per class, modulated by textures that depend on the layout only (each measured
    from its own rectangle, so a convolution can infer it from the label map), plus faint grain."""
    size = label.shape[0]
    yy = np.mgrid[0:size, 0:size][0] / size
    frame = max(1, size // 64)
    course = max(3, size // 16)  # height of a brick course, in pixels
    layers = {
        "sky": np.stack([150 + 70 * yy * 4, 190 + 40 * yy * 4, 235 + 10 * yy * 4], -1),
        "wall": np.array([200, 165, 135])
        * (1.05 - 0.2 * yy)[..., None]
        * np.where(row % course == course - 1, 0.8, 1.0)[..., None],
        "cornice": np.array([120, 60, 50]) * np.where(v < 0.3, 1.4, 1.0)[..., None],
        "window": np.where(
            (edge < frame)[..., None],
            np.array([235, 235, 225]),
            np.array([40, 55, 80]) + (90 * (1 - v))[..., None],
        ),
        "door": np.where(
            (edge < frame)[..., None],
            np.array([70, 40, 20]),
            np.array([125, 80, 45]) * np.where((np.round(u * 6) % 2) == 0, 0.85, 1.0)[..., None],
        ),
        "balcony": np.where(
            ((v < 0.25) | (np.round(u * 8) % 2 == 0))[..., None],
            np.array([150, 150, 155]),
            np.array([60, 60, 65]),
        ),
    }
    photo = np.zeros((size, size, 3))
    for name, index in _CLASS.items():
        photo = np.where((label == index)[..., None], np.broadcast_to(layers[name], photo.shape), photo)
    photo += rng.normal(0.0, 3.0, photo.shape)  # a little sensor grain
    return np.clip(np.rint(photo), 0, 255).astype(np.uint8)


def facade_pair(seed: int, split: int, index: int, size: int) -> Image.Image:
    """One A|B image (2·size × size): label map on the left, photo on the right."""
    rng = _rng(seed, 0, split, index)
    label, u, v, row, edge = _rasterize(_facade_layout(rng, size), size)
    labels = np.array(list(FACADE_LABELS.values()), np.uint8)[label]
    return Image.fromarray(np.concatenate([labels, _render_facade(label, u, v, row, edge, rng)], axis=1))


def make_paired_dataset(
    root: str, n_train: int = 200, n_val: int = 20, n_test: int = 20, size: int = 64, seed: int = 0
) -> str:
    """Write facades_synth to `root`/{train,val,test}/NNNN.png; returns `root`."""
    _check_size(size)
    splits = {"train": n_train, "val": n_val, "test": n_test}
    _prepare_root(root, tuple(splits), f"facades_synth: paired label|photo, size {size}, seed {seed}")
    for split_id, (split, count) in enumerate(splits.items()):
        for i in range(count):
            facade_pair(seed, split_id, i, size).save(os.path.join(root, split, f"{i:04d}.png"))
    return root


# ---------------------------------------------------------------- shapes2synth


def _shape_scene(rng: np.random.Generator, size: int) -> list[tuple[int, int, float, float, float]]:
    """1-3 shapes (kind, colour, cx, cy, r), big enough to read at 32 px."""
    shapes = []
    for _ in range(int(rng.integers(1, 4))):
        r = rng.uniform(0.15, 0.28) * size
        cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
        shapes.append(
            (int(rng.integers(len(SHAPE_KINDS))), int(rng.integers(len(SHAPE_COLOURS_A))), cx, cy, r)
        )
    return shapes


def _shape_mask(kind: int, cx: float, cy: float, r: float, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    dx, dy = xx - cx, yy - cy
    if SHAPE_KINDS[kind] == "circle":
        return dx**2 + dy**2 <= r**2
    if SHAPE_KINDS[kind] == "square":
        return (np.abs(dx) <= r * 0.85) & (np.abs(dy) <= r * 0.85)
    return (np.abs(dy) <= r) & (np.abs(dx) <= r * (dy + r) / (2 * r))  # triangle, apex up


def render_shapes(shapes: list, size: int, domain: str) -> Image.Image:
    """Domain "A": flat colours on white. Domain "B": other colours, lit from above, striped from each
    shape's top edge, on a dark vertical gradient."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    if domain == "A":
        image = np.broadcast_to(np.array(BACKGROUND_A, np.float64), (size, size, 3))
    else:
        t = (yy / size)[..., None]
        image = np.array(BACKGROUND_B[0], np.float64) * (1 - t) + np.array(BACKGROUND_B[1], np.float64) * t
    for kind, colour, cx, cy, r in shapes:
        mask = _shape_mask(kind, cx, cy, r, xx, yy)[..., None]
        if domain == "A":
            image = np.where(mask, np.array(SHAPE_COLOURS_A[colour], np.float64), image)
            continue
        depth = (yy - (cy - r)) / (2 * r)  # 0 at the shape's top, 1 at its bottom
        highlight = np.exp(-((xx - cx) ** 2 + (yy - cy + 0.4 * r) ** 2) / (0.5 * r) ** 2)
        stripes = np.where(np.floor((yy - (cy - r)) / max(2.0, size / 16)) % 2 == 0, 1.0, 0.8)
        shade = ((1.1 - 0.5 * depth) * stripes + 0.4 * highlight)[..., None]
        image = np.where(mask, np.array(SHAPE_COLOURS_B[colour]) * shade, image)
    return Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8))


def make_unpaired_dataset(
    root: str, n_train: int = 200, n_test: int = 20, size: int = 64, seed: int = 0
) -> str:
    """Write shapes2synth to `root`: trainA, trainB (different scenes), testA, testB and the true
    translations testB_gt (of testA, same names) and testA_gt (of testB); returns `root`."""
    _check_size(size)
    folders = ("trainA", "trainB", "testA", "testB", "testA_gt", "testB_gt")
    _prepare_root(
        root, folders, f"shapes2synth: unpaired flat (A) / shaded (B) shapes, size {size}, seed {seed}"
    )

    def write(folder: str, name: str, shapes: list, domain: str) -> None:
        render_shapes(shapes, size, domain).save(os.path.join(root, folder, name))

    for i in range(n_train):
        write("trainA", f"{i:04d}.png", _shape_scene(_rng(seed, 1, 0, i), size), "A")
        write("trainB", f"{i:04d}.png", _shape_scene(_rng(seed, 1, 1, i), size), "B")
    for i in range(n_test):
        scene_a, scene_b = _shape_scene(_rng(seed, 1, 2, i), size), _shape_scene(_rng(seed, 1, 3, i), size)
        write("testA", f"{i:04d}.png", scene_a, "A")
        write("testB_gt", f"{i:04d}.png", scene_a, "B")
        write("testB", f"{i:04d}.png", scene_b, "B")
        write("testA_gt", f"{i:04d}.png", scene_b, "A")
    return root
