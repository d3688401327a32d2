"""Attribution: credit every conversion to the touches before it, under each model."""

from marketing.attribution.models import MODELS
from marketing.attribution.run import RunSummary, run_attribution

__all__ = ["MODELS", "RunSummary", "run_attribution"]
