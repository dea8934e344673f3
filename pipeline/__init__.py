"""ocrpipe: batch OCR over the Huawei Cloud OCR protocol.

The data flow, stage by stage (one module each)::

    storage.list -> storage.read -> render -> prepare -> ocr.recognize
        -> writers -> storage.write, with every OCR attempt in the ledger
"""

__version__ = "0.1.0"
