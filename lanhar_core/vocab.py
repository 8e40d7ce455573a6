"""The canonical activity vocabulary and the paper's category groups.

Readers map each dataset's own label names onto these canonical names (the original name
is kept alongside in the store). Users can add labels and categories at run time through
the store; this module only holds the built-in defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Activity:
    name: str
    category: str | None
    display: str


BUILTIN_ACTIVITIES: tuple[Activity, ...] = (
    Activity("walk", "locomotion", "walking"),
    Activity("jog", "locomotion", "jogging or running"),
    Activity("bike", "locomotion", "cycling"),
    Activity("sit", "static", "sitting"),
    Activity("stand", "static", "standing"),
    Activity("lie", "static", "lying down"),
    Activity("upstairs", "stairs", "walking upstairs"),
    Activity("downstairs", "stairs", "walking downstairs"),
    Activity("jump", None, "jumping"),
    Activity("elevator_up", None, "riding an elevator up"),
    Activity("elevator_down", None, "riding an elevator down"),
    Activity("walk_left", None, "walking sideways to the left"),
    Activity("walk_right", None, "walking sideways to the right"),
    Activity("nordic_walk", "locomotion", "Nordic walking"),
    Activity("vacuum", None, "vacuum cleaning"),
    Activity("iron", None, "ironing"),
    Activity("rope_jump", None, "rope jumping"),
    Activity("treadmill_walk", "locomotion", "walking on a treadmill"),
    Activity("treadmill_walk_incline", "locomotion", "walking on an inclined treadmill"),
    Activity("treadmill_run", "locomotion", "running on a treadmill"),
    Activity("stepper", None, "exercising on a stepper"),
    Activity("cross_trainer", None, "exercising on a cross trainer"),
    Activity("bike_horizontal", "locomotion", "cycling on an exercise bike in horizontal position"),
    Activity("bike_vertical", "locomotion", "cycling on an exercise bike in vertical position"),
    Activity("rowing", None, "rowing"),
    Activity("basketball", None, "playing basketball"),
    Activity("badminton", None, "playing badminton"),
    Activity("transition", None, "postural transition"),
    Activity("elevator_move", None, "moving around in an elevator"),
    Activity("watch_tv", None, "watching TV"),
    Activity("computer_work", None, "working at a computer"),
    Activity("drive_car", None, "driving a car"),
    Activity("fold_laundry", None, "folding laundry"),
    Activity("house_cleaning", None, "cleaning the house"),
    Activity("soccer", None, "playing soccer"),
    Activity("shoulder_pendulum", None, "pendulum shoulder exercise"),
    Activity("shoulder_abduction", None, "shoulder abduction exercise"),
    Activity("shoulder_forward_elevation", None, "shoulder forward elevation exercise"),
    Activity("shoulder_internal_rotation", None, "shoulder internal rotation exercise"),
    Activity("shoulder_external_rotation", None, "shoulder external rotation exercise"),
    Activity("trapezius_extension", None, "trapezius extension exercise"),
    Activity("upright_row", None, "upright row exercise"),
)

COMMON_ACTIVITIES: tuple[str, ...] = ("walk", "upstairs", "downstairs", "sit")
"""The four activities the cross-dataset protocol shares (paper section 4.1)."""

EXCLUDED_LABELS: tuple[str, ...] = ("transition",)
"""Labels never evaluated: postural transitions are short mixtures, not activities."""

CATEGORIES: dict[str, tuple[str, ...]] = {
    "locomotion": ("walk", "jog", "bike"),
    "static": ("sit", "stand", "lie"),
    "stairs": ("upstairs", "downstairs"),
}


def builtin_by_name() -> dict[str, Activity]:
    return {a.name: a for a in BUILTIN_ACTIVITIES}


def category_of(label: str, extra: dict[str, str] | None = None) -> str | None:
    """The category of ``label``; ``extra`` (label -> category) comes from the store for user labels."""
    if extra and label in extra:
        return extra[label]
    activity = builtin_by_name().get(label)
    return activity.category if activity else None
