"""Still and animated images with Pillow (plus pillow-heif for HEIC/HEIF).

``metadata`` reads what a file says about itself without decoding it, ``pixels``
decodes, turns and encodes, and ``codec`` is the adapter that puts both together.
Pillow is configured here, in the package, so that every module of it opens files
the same way whichever of them is imported first.
"""

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()
# Darkroom checks pixel limits itself, on the header, before decoding (see preflight);
# Pillow's own check would only warn below 2x its default.
Image.MAX_IMAGE_PIXELS = None
