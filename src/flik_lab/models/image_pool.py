"""The history of generated images the discriminators see (Shrivastava et al. 2017, as CycleGAN uses it)."""

import torch

from flik_lab.utils.arguments import Range

POOL_SIZE = Range(0, "a whole number of images, 0 or more", integer=True)


class ImagePool:
    """Up to `size` earlier generated images. `query(images)` returns a batch of the same shape: while the
    pool fills, the images themselves (stored); then each row is, with probability 0.5, a stored image
    (replaced by the new one) or the new image. `size=0` passes images through.

    Draws come from torch's global RNG, so a seeded run repeats. The contents are not checkpointed: a
    resumed run starts with an empty pool (it refills within `size` images).
    """

    def __init__(self, size: int = 50):
        POOL_SIZE.check("pool_size", size)
        self.size = size
        self.images: torch.Tensor | None = None  # (size, C, H, W) once the first batch arrives
        self.count = 0

    def query(self, images: torch.Tensor) -> torch.Tensor:
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        out = images.clone()
        fill = min(self.size - self.count, images.shape[0])
        self.images[self.count : self.count + fill] = images[:fill]
        self.count += fill
        rest = images.shape[0] - fill
        if rest == 0:
            return out
        swap = (torch.rand(rest) < 0.5).tolist()
        slots = torch.randint(0, self.size, (rest,)).tolist()
        for row, (swapped, slot) in enumerate(zip(swap, slots, strict=True), start=fill):
            if swapped:  # one at a time: a slot drawn twice hands on the image stored a moment ago
                out[row] = self.images[slot]
                self.images[slot] = images[row]
        return out
