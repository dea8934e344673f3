"""ocrpipe: batch OCR over the Huawei Cloud OCR protocol.

The data flow, stage by stage (one module each)::

    storage.list -> storage.read -> render -> prepare -> ocr.recognize
        -> writers -> storage.write, with every OCR attempt in the ledger
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ocrpipe")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
