"""Other libraries' warnings that flik-lab runs trigger by design, silenced by `extras.ignore_warnings`."""

import logging
import warnings

KNOWN = (
    # the GAN's FID feature network is frozen in eval mode on purpose (its dropout must stay off)
    r"Found \d+ module\(s\) in eval mode at the start of training",
    # Lightning 2.6 on torch 2.14: its own use of a deprecated torch API, nothing a user can change
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    # tiny runs and debug configs have fewer batches than the logging interval
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    # resuming in the same run directory, or into a new one, is what `ckpt_path=` is for
    r"Checkpoint directory .* exists and is not empty",
    r"The dirpath has changed from",
    # every epoch-level value flik-lab logs is synchronised across DDP ranks already: computed by a
    # torchmetrics metric (its compute() gathers all ranks' states) or logged with sync_dist=True
    r"It is recommended to use `self.log\('.*', \.\.\., sync_dist=True\)` when logging on epoch level",
    # DDP on a CPU: a convolution over one channel (digits) returns its weight's gradient with another stride
    # on that size-1 dimension; DDP copies it into its bucket all the same, no slower
    r"Grad strides do not match bucket view strides",
)


QUIET_INFO = (
    "Tip: For seamless cloud",  # Lightning's litlogger advertisement
    "Trainer already configured with model summary callbacks",  # callbacks.model_summary, as configured
)


class _KnownInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in QUIET_INFO)


_KNOWN_INFO = _KnownInfo()  # one instance: a sweep's jobs add it once


def ignore_known_warnings() -> None:
    """Filter the warnings in `KNOWN` and Lightning's lines in `QUIET_INFO`; other warnings still show."""
    for message in KNOWN:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_KNOWN_INFO)
