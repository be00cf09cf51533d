"""What reacts to outcomes, one file per concern (after Dramatiq's middleware): failure notices
(log, webhook, SNS), the audit log, AWS logs and metrics. ``eventlens.wiring`` registers them;
the pipeline and the AWS app fire them. See ``base.Hook``."""

from eventlens.hooks.base import Hook, Hooks

__all__ = ["Hook", "Hooks"]
