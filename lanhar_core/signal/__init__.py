"""Signal analysis of IMU windows: the documented feature record used by prompts and the rules writer."""

from lanhar_core.signal.features import (
    FEATURE_KEYS,
    FEATURES,
    Feature,
    align_to_gravity,
    rotation_to_z,
    window_feature_arrays,
    window_features,
    window_features_batch,
)

__all__ = ["FEATURES", "FEATURE_KEYS", "Feature", "align_to_gravity", "rotation_to_z", "window_feature_arrays",
           "window_features", "window_features_batch"]
