"""`--device`: cuda asks onnxruntime's CUDA provider for RapidOCR, and says clearly when
this installation cannot do it (nothing may need a GPU)."""

from __future__ import annotations

import onnxruntime
import pytest

from pipeline.service.apierror import SetupError
from pipeline.service.rapid import engine_params
from pipeline.service.server import ServiceConfig, running_service

HAS_CUDA = "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def test_engine_params_follow_the_device() -> None:
    assert engine_params(2)["EngineConfig.onnxruntime.use_cuda"] is False
    assert engine_params(1, "cuda")["EngineConfig.onnxruntime.use_cuda"] is True
    assert engine_params(1, "cuda")["Global.use_cls"] is False


@pytest.mark.skipif(HAS_CUDA, reason="this onnxruntime has a CUDA provider")
async def test_cuda_without_a_cuda_provider_is_a_clear_error() -> None:
    config = ServiceConfig(port=0, workers=1, device="cuda", auth_required=False)
    with pytest.raises(SetupError, match="onnxruntime-gpu"):
        async with running_service(config):
            pass


async def test_cuda_only_for_rapidocr() -> None:
    config = ServiceConfig(port=0, device="cuda", engine="tesseract", auth_required=False)
    with pytest.raises(SetupError, match="rapidocr"):
        async with running_service(config):
            pass
