"""Attribution: credit every conversion to the touches before it, under each model."""

from marketing.attribution.run import MODELS, RunSummary, run_attribution

__all__ = ["MODELS", "RunSummary", "run_attribution"]
