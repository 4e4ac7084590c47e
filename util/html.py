"""A minimal HTML page of image tables, written with dominate (the reference's gallery format).

Images live in `web_dir/images/` and the page references them relatively (`images/NAME.png`), so a
gallery folder can be copied or served anywhere.
"""

from __future__ import annotations

import os

import dominate
from dominate.tags import a, br, h3, img, meta, p, table, td, tr

from util.util import mkdirs

IMAGE_SUBDIR = "images"
CELL_PADDING = 12  # px per table cell around an image: the cell's border and padding, with room to spare


class HTML:
    """Build `web_dir/index.html`: headers and rows of images, each linking to its full-size file."""

    def __init__(self, web_dir: str, title: str, refresh: int = 0) -> None:
        """refresh > 0 makes the browser reload the page every `refresh` seconds (training galleries)."""
        self.title = title
        self.web_dir = web_dir
        self.img_dir = os.path.join(web_dir, IMAGE_SUBDIR)
        mkdirs([self.web_dir, self.img_dir])
        self.doc = dominate.document(title=title)
        if refresh > 0:
            with self.doc.head:
                meta(http_equiv="refresh", content=str(refresh))

    def get_image_dir(self) -> str:
        """Folder the caller saves image files into (names passed to add_images are relative to it)."""
        return self.img_dir

    def add_header(self, text: str) -> None:
        with self.doc:
            h3(text)

    def add_images(self, ims: list[str], txts: list[str], links: list[str], width: int = 400) -> None:
        """One table row: image file `ims[i]` shown `width` px wide, captioned `txts[i]`, linking to `links[i]`.

        File names are relative to the image folder (see get_image_dir). A row wider than the window (CycleGAN's
        8 images at 256 px) shrinks every image alike to fit it, instead of running off the page.
        """
        # The table takes the window's width up to what the images need at full size (plus cell padding and
        # borders); its cells share it equally, and each image fills its cell up to `width`.
        full_width = len(ims) * (width + CELL_PADDING)
        row_table = table(border=1, style=f"table-layout: fixed; width: 100%; max-width: {full_width}px;")
        self.doc.add(row_table)
        with row_table, tr():
            for im, txt, link in zip(ims, txts, links, strict=True):
                with td(style="word-wrap: break-word;", halign="center", valign="top"), p():
                    # URLs always use "/", whatever the OS separator is.
                    with a(href=f"{IMAGE_SUBDIR}/{link}"):
                        img(style=f"width:100%; max-width:{width}px", src=f"{IMAGE_SUBDIR}/{im}")
                    br()
                    p(txt)

    def save(self) -> str:
        """Write `web_dir/index.html` and return its path."""
        path = os.path.join(self.web_dir, "index.html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.doc.render())
        return path
