"""Settings for the tracking benchmark's server only: volano.settings with the per-address hit
limit out of the way. wrk sends thousands of hits a second from one loopback address, which the
limit rightly refuses; the benchmark measures storing hits, the counter's cost included."""

from volano.settings import *  # noqa: F403

VOLANO_TRACKING_RATE_PER_IP = (10**9, 60)
