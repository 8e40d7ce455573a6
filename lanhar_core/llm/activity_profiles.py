"""What every vocabulary activity looks like to an IMU, per body segment, in ``rules-v3``'s words.

A label description is only useful to recognition if it says what the window texts say
when a window shows that activity. Each ``Profile`` records the physical expectations of
one activity (intensity class, cadence class, ground contact, orientation and swing of
each segment, rotation, impacts) from exercise physiology and biomechanics, not from any
dataset; ``sensor_sentences`` renders them with exactly the phrases ``rules_grounded``
writes for windows, so that a window and its activity's description share their words.

Descriptions for a segment begin with ``Seen from a device on the <segment>:`` (the marker
that ``select_descriptions`` reads); a description without it applies to any placement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lanhar_core.placement import SEGMENT_NAMES, SEGMENTS, Segment

Words = tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    """Expected rules-v3 conclusions of an activity; a tuple means "one of these" (a range)."""

    general: str
    body: str
    intensity: Words
    cadence: Words = ()
    contact: str = "flat"
    posture: dict[str, Words] = field(default_factory=dict)
    swing: dict[str, str] = field(default_factory=dict)
    rotation: str = "negligible"
    impact: Words = ("no",)
    axes: str = ""


_UPRIGHT = {"trunk": ("upright",), "thigh": ("near vertical",), "forearm": ("hanging down",)}
_SEATED = {"trunk": ("upright", "inclined"), "thigh": ("near horizontal",), "forearm": ("angled", "near horizontal")}
_GAIT = dict(_UPRIGHT)


def _p(general: str, body: str, intensity: Words, **kw: object) -> Profile:
    return Profile(general, body, intensity, **kw)  # type: ignore[arg-type]


PROFILES: dict[str, Profile] = {
    "walk": _p("Walking on level ground at a self-selected pace.", "Legs, hips and glutes drive the motion; the arms swing.",
               ("moderate",), cadence=("moderate",), contact="contact", posture=_GAIT,
               swing={"trunk": "small", "thigh": "small"}, rotation="moderate in step", impact=("moderate",), axes="mixed vertical and horizontal"),
    "jog": _p("Jogging or running, a gait with a flight phase in which both feet leave the ground.", "Legs, glutes and calves propel the body; the arms swing strongly.",
              ("vigorous",), cadence=("very fast", "fast"), contact="flight", posture={**_UPRIGHT, "forearm": ("angled",)},
              rotation="strong in step", impact=("very strong",), axes="mostly vertical"),
    "bike": _p("Cycling on a bicycle, the legs turning the cranks while the trunk rests on the saddle.", "Thighs, calves and glutes turn the cranks; the hands hold the handlebar.",
               ("light", "moderate"), cadence=("very slow", "slow"), contact="smooth",
               posture={"trunk": ("upright", "inclined"), "thigh": ("near horizontal", "inclined"), "forearm": ("near horizontal", "angled")},
               swing={"thigh": "large"}, rotation="strong in step", impact=("soft", "no"), axes="mixed vertical and horizontal"),
    "sit": _p("Sitting on a chair or seat, the weight on the buttocks, hips and knees bent.", "Buttocks and thighs carry the weight; back and neck muscles hold the trunk.",
              ("sedentary",), posture=_SEATED),
    "stand": _p("Standing still and upright on both feet.", "Legs and feet carry the weight; calves make small balance corrections.",
                ("sedentary",), posture=_UPRIGHT),
    "lie": _p("Lying down on a bed, sofa or floor, the body horizontal.", "The whole body rests on the surface; the muscles are relaxed.",
              ("sedentary",), posture={"trunk": ("near horizontal",), "thigh": ("near horizontal",), "forearm": ("near horizontal",)}),
    "upstairs": _p("Climbing a staircase, lifting the body by one step height at each stride.", "Quadriceps and glutes lift the body; the calves push off each step.",
                   ("moderate", "vigorous"), cadence=("slow", "moderate"), contact="contact", posture=_GAIT,
                   swing={"trunk": "large", "thigh": "large"}, rotation="moderate in step", impact=("moderate", "strong"), axes="mixed vertical and horizontal"),
    "downstairs": _p("Descending a staircase, the body lowered onto the next step at each stride.", "Quadriceps brake the descent; knees and ankles absorb each landing.",
                     ("moderate",), cadence=("moderate",), contact="contact", posture=_GAIT,
                     swing={"trunk": "large", "thigh": "small"}, rotation="moderate in step", impact=("strong", "very strong"), axes="mostly vertical"),
    "jump": _p("Jumping with both legs, repeatedly or in series, the body leaving the ground.", "Quadriceps, glutes and calves produce the take-off and absorb the landing.",
               ("vigorous",), cadence=("slow", "moderate"), contact="free fall", posture=_UPRIGHT,
               rotation="moderate in step", impact=("very strong",), axes="mostly vertical"),
    "elevator_up": _p("Riding an elevator upwards while standing still.", "Legs carry the standing body; nothing else moves.",
                      ("sedentary", "light"), posture=_UPRIGHT, axes="mostly vertical"),
    "elevator_down": _p("Riding an elevator downwards while standing still.", "Legs carry the standing body; nothing else moves.",
                        ("sedentary", "light"), posture=_UPRIGHT, axes="mostly vertical"),
    "walk_left": _p("Stepping sideways to the left, one foot following the other.", "Hip abductors and adductors move the legs sideways.",
                    ("moderate",), cadence=("moderate",), contact="contact", posture=_GAIT,
                    rotation="moderate in step", impact=("moderate",), axes="mixed vertical and horizontal"),
    "walk_right": _p("Stepping sideways to the right, one foot following the other.", "Hip abductors and adductors move the legs sideways.",
                     ("moderate",), cadence=("moderate",), contact="contact", posture=_GAIT,
                     rotation="moderate in step", impact=("moderate",), axes="mixed vertical and horizontal"),
    "nordic_walk": _p("Walking with two poles planted alternately, the arms pushing the body forward.", "Legs, shoulders, arms and the back muscles work together.",
                      ("moderate", "vigorous"), cadence=("moderate",), contact="contact", posture={**_GAIT, "forearm": ("angled",)},
                      swing={"forearm": "large", "thigh": "small"}, rotation="moderate in step", impact=("moderate",), axes="mixed vertical and horizontal"),
    "vacuum": _p("Vacuum cleaning: pushing and pulling a cleaner while stepping around a room.", "The arm and shoulder push and pull; the legs step and turn.",
                 ("light", "moderate"), contact="contact", posture={"trunk": ("upright", "inclined"), "thigh": ("near vertical",), "forearm": ("angled",)},
                 swing={"forearm": "large"}, rotation="moderate irregular", impact=("soft",), axes="mostly horizontal"),
    "iron": _p("Ironing clothes at a board while standing.", "The forearm and hand move the iron back and forth; the legs stand.",
               ("light",), contact="contact", posture={"trunk": ("upright",), "thigh": ("near vertical",), "forearm": ("near horizontal", "angled")},
               swing={"forearm": "small"}, rotation="mild irregular", impact=("no",), axes="mostly horizontal"),
    "rope_jump": _p("Jumping rope: small, quick jumps while the wrists turn a rope.", "Calves and ankles spring the body; the wrists and forearms turn the rope.",
                    ("vigorous",), cadence=("fast", "very fast"), contact="flight", posture={**_UPRIGHT, "forearm": ("angled",)},
                    rotation="strong in step", impact=("very strong",), axes="mostly vertical"),
    "treadmill_walk": _p("Walking on a motorised treadmill at a constant belt speed.", "Legs, hips and glutes drive the gait; the arms swing.",
                         ("moderate",), cadence=("moderate",), contact="contact", posture=_GAIT,
                         swing={"trunk": "small", "thigh": "small"}, rotation="moderate in step", impact=("moderate",), axes="mixed vertical and horizontal"),
    "treadmill_walk_incline": _p("Walking uphill on an inclined treadmill.", "Legs and glutes lift the body at every step; the calves push off.",
                                 ("moderate", "vigorous"), cadence=("moderate", "slow"), contact="contact", posture=_GAIT,
                                 swing={"thigh": "small"}, rotation="moderate in step", impact=("moderate",), axes="mixed vertical and horizontal"),
    "treadmill_run": _p("Running on a motorised treadmill, with a flight phase at every step.", "Legs, glutes and calves propel the body; the arms swing.",
                        ("vigorous",), cadence=("very fast", "fast"), contact="flight", posture={**_UPRIGHT, "forearm": ("angled",)},
                        rotation="strong in step", impact=("very strong",), axes="mostly vertical"),
    "stepper": _p("Exercising on a stepper machine, the feet pressing two pedals down in turn.", "Quadriceps and glutes press the pedals; the hands rest on rails.",
                  ("moderate",), cadence=("slow", "very slow"), contact="contact", posture={**_UPRIGHT, "forearm": ("angled", "near horizontal")},
                  swing={"thigh": "large"}, rotation="moderate in step", impact=("moderate", "soft"), axes="mostly vertical"),
    "cross_trainer": _p("Exercising on an elliptical cross trainer: the feet glide on pedals and the arms push handles.", "Legs, glutes, shoulders and arms move together.",
                        ("moderate",), cadence=("moderate", "slow"), contact="smooth", posture={**_UPRIGHT, "forearm": ("angled",)},
                        swing={"forearm": "large"}, rotation="moderate in step", impact=("soft", "moderate"), axes="mostly vertical"),
    "bike_horizontal": _p("Cycling on a recumbent exercise bike, seated with the legs pushing forward.", "Thighs and calves turn the cranks; the back rests against the seat.",
                          ("light", "moderate"), cadence=("very slow", "slow"), contact="smooth",
                          posture={"trunk": ("upright", "inclined"), "thigh": ("near horizontal",), "forearm": ("angled", "near horizontal")},
                          swing={"thigh": "large"}, rotation="strong in step", impact=("soft", "no"), axes="mixed vertical and horizontal"),
    "bike_vertical": _p("Cycling on an upright exercise bike, seated above the cranks.", "Thighs, calves and glutes turn the cranks; the hands hold the handlebar.",
                        ("light", "moderate"), cadence=("very slow", "slow"), contact="smooth",
                        posture={"trunk": ("upright", "inclined"), "thigh": ("inclined", "near horizontal"), "forearm": ("angled", "near horizontal")},
                        swing={"thigh": "large"}, rotation="strong in step", impact=("soft", "no"), axes="mostly vertical"),
    "rowing": _p("Rowing on a rowing machine: legs push, the trunk swings back, the arms pull a handle.", "Legs, back, shoulders and arms act in sequence at every stroke.",
                 ("moderate", "vigorous"), cadence=("very slow",), contact="smooth",
                 posture={"trunk": ("inclined", "upright"), "thigh": ("near horizontal", "inclined"), "forearm": ("near horizontal",)},
                 swing={"trunk": "large", "thigh": "large", "forearm": "large"}, rotation="moderate in step", impact=("soft",), axes="mostly horizontal"),
    "basketball": _p("Playing basketball: running, stopping, jumping and throwing in irregular bursts.", "Legs, arms and the whole trunk.",
                     ("vigorous",), contact="flight", posture={**_UPRIGHT, "forearm": ("angled", "raised")},
                     swing={"forearm": "large"}, rotation="strong irregular", impact=("strong", "very strong"), axes="mostly vertical"),
    "badminton": _p("Playing badminton: quick steps, lunges and overhead racket strokes.", "Legs for footwork, the racket arm and shoulder for strokes.",
                    ("moderate", "vigorous"), contact="contact", posture={**_UPRIGHT, "forearm": ("raised", "angled")},
                    swing={"forearm": "large"}, rotation="strong irregular", impact=("moderate", "strong"), axes="mixed vertical and horizontal"),
    "transition": _p("A postural transition such as getting up from a chair or lying down.", "Legs, trunk and arms move the body between postures.",
                     ("light", "moderate"), contact="contact", posture={"trunk": ("inclined",), "thigh": ("inclined",), "forearm": ("angled",)},
                     swing={"trunk": "large", "thigh": "large"}, rotation="moderate irregular", impact=("soft",), axes="mixed vertical and horizontal"),
    "elevator_move": _p("Moving around inside an elevator: a few steps and standing.", "Legs carry the body for short shuffles.",
                        ("light",), contact="contact", posture=_UPRIGHT, rotation="mild irregular", impact=("soft",), axes="mixed vertical and horizontal"),
    "watch_tv": _p("Watching television seated on a sofa or chair.", "The body rests on the seat; only the head and hands move now and then.",
                   ("sedentary",), posture={"trunk": ("inclined", "upright"), "thigh": ("near horizontal",), "forearm": ("near horizontal", "angled")}),
    "computer_work": _p("Working at a computer, seated at a desk, typing and using a mouse.", "Fingers, wrists and forearms work; the body rests on the chair.",
                        ("sedentary", "light"), posture={"trunk": ("upright", "inclined"), "thigh": ("near horizontal",), "forearm": ("near horizontal",)},
                        swing={"forearm": "small"}, rotation="mild irregular"),
    "drive_car": _p("Driving a car, seated, steering and working the pedals.", "Arms steer; the right foot works the pedals; the body rests on the seat.",
                    ("light", "sedentary"), contact="contact", posture={"trunk": ("inclined", "upright"), "thigh": ("near horizontal", "inclined"), "forearm": ("angled", "near horizontal")},
                    rotation="mild irregular", impact=("soft", "no"), axes="mostly horizontal"),
    "fold_laundry": _p("Folding laundry at a table or bed, standing.", "Hands, forearms and shoulders handle the clothes; the legs stand.",
                       ("light",), contact="contact", posture={"trunk": ("upright", "inclined"), "thigh": ("near vertical",), "forearm": ("angled",)},
                       swing={"forearm": "large"}, rotation="moderate irregular", impact=("no",), axes="mostly horizontal"),
    "house_cleaning": _p("Cleaning the house: wiping, dusting and tidying while moving around.", "Arms and shoulders wipe and reach; the legs step and bend.",
                         ("light", "moderate"), contact="contact", posture={"trunk": ("upright", "inclined"), "thigh": ("near vertical",), "forearm": ("angled",)},
                         swing={"forearm": "large"}, rotation="moderate irregular", impact=("soft",), axes="mixed vertical and horizontal"),
    "soccer": _p("Playing soccer: running, sprinting, kicking and turning in irregular bursts.", "Legs kick and run; the trunk and arms balance.",
                 ("vigorous",), contact="flight", posture=_UPRIGHT, swing={"thigh": "large"},
                 rotation="strong irregular", impact=("very strong", "strong"), axes="mostly vertical"),
    "shoulder_pendulum": _p("A pendulum shoulder exercise: bent forward, the relaxed arm swings in small circles.", "The shoulder joint moves passively; the trunk leans on the other arm.",
                            ("light",), cadence=("very slow", "slow"), contact="smooth",
                            posture={"trunk": ("inclined", "strongly inclined"), "thigh": ("near vertical",), "forearm": ("hanging down",)},
                            swing={"forearm": "small"}, rotation="mild in step", impact=("no",), axes="mostly horizontal"),
    "shoulder_abduction": _p("A shoulder abduction exercise: the straight arm is raised sideways and lowered.", "Deltoid and rotator cuff raise the arm; the body stands still.",
                             ("light",), cadence=("very slow",), contact="smooth", posture={**_UPRIGHT, "forearm": ("near horizontal", "raised", "hanging down")},
                             swing={"forearm": "large"}, rotation="moderate in step", impact=("no",), axes="mixed vertical and horizontal"),
    "shoulder_forward_elevation": _p("A shoulder forward elevation exercise: the straight arm is raised forwards and lowered.", "Anterior deltoid and rotator cuff raise the arm; the body stands still.",
                                     ("light",), cadence=("very slow",), contact="smooth", posture={**_UPRIGHT, "forearm": ("near horizontal", "raised", "hanging down")},
                                     swing={"forearm": "large"}, rotation="moderate in step", impact=("no",), axes="mixed vertical and horizontal"),
    "shoulder_internal_rotation": _p("A shoulder internal rotation exercise: elbow bent at a right angle, the forearm turns towards the belly.", "Rotator cuff (subscapularis) turns the upper arm; the elbow stays at the side.",
                                     ("light",), cadence=("very slow",), contact="smooth", posture={**_UPRIGHT, "forearm": ("near horizontal",)},
                                     swing={"forearm": "small"}, rotation="moderate in step", impact=("no",), axes="mostly horizontal"),
    "shoulder_external_rotation": _p("A shoulder external rotation exercise: elbow bent at a right angle, the forearm turns outwards.", "Rotator cuff (infraspinatus, teres minor) turns the upper arm; the elbow stays at the side.",
                                     ("light",), cadence=("very slow",), contact="smooth", posture={**_UPRIGHT, "forearm": ("near horizontal",)},
                                     swing={"forearm": "small"}, rotation="moderate in step", impact=("no",), axes="mostly horizontal"),
    "trapezius_extension": _p("A trapezius extension exercise: the arms are drawn back and the shoulder blades squeezed.", "Trapezius and rhomboids pull the shoulders back.",
                              ("light",), cadence=("very slow",), contact="smooth", posture={**_UPRIGHT, "forearm": ("hanging down", "angled")},
                              swing={"forearm": "small"}, rotation="mild in step", impact=("no",), axes="mostly horizontal"),
    "upright_row": _p("An upright row exercise: the hands are pulled up along the body to the chest and lowered.", "Deltoids and trapezius lift the hands; the elbows lead.",
                      ("light", "moderate"), cadence=("very slow",), contact="smooth", posture={**_UPRIGHT, "forearm": ("hanging down", "angled")},
                      swing={"forearm": "large"}, rotation="moderate in step", impact=("no",), axes="mostly vertical"),
}

_MARKER = re.compile(r"Seen from a device on the (trunk|thigh|forearm):", re.IGNORECASE)


def _either(words: Words) -> str:
    return " or ".join(words)


def _sentences(p: Profile, segment: Segment | None) -> dict[str, str]:
    """The window-text phrases this profile predicts, by rules-v3 point; ``segment`` None: every segment."""
    still = p.intensity == ("sedentary",)
    out: dict[str, str] = {}
    out["strength"] = "Sedentary intensity; the device is motionless." if still else f"{_either(p.intensity).capitalize()} intensity."
    out["axes"] = "No dominant direction of movement." if still or not p.axes else f"Acceleration {p.axes}."
    out["rhythm"] = f"Rhythmic cycles at a {_either(p.cadence)} cadence." if p.cadence else "No steps or other repeated cycle."
    out["waveform"] = {
        "flat": "Flat trace; the body is supported throughout.",
        "contact": "No flight phase; ground contact throughout.",
        "smooth": "Smooth cyclic motion without impacts; ground contact throughout.",
        "flight": "Flight phase at every cycle; both feet leave the ground.",
        "free fall": "Near free fall between landings; the body leaves the ground.",
    }[p.contact]
    segments = SEGMENTS if segment is None or segment == "unknown" else (segment,)
    clauses = []
    for s in segments:
        name = SEGMENT_NAMES[s]
        clause = f"the {name} is {_either(p.posture.get(s, ('at any angle',)))}"
        swing = p.swing.get(s)
        if swing == "large":
            clause += "; large swing of the " + ("thigh (high knee lift)" if s == "thigh" else name)
        elif swing == "small" or not still:
            clause += f"; small swing of the {name}"
        clauses.append(clause)
    out["posture"] = "; ".join(clauses)[0].upper() + "; ".join(clauses)[1:] + "."
    level, _, relation = p.rotation.partition(" ")
    if level == "negligible":
        out["rotation"] = "Negligible rotation."
    elif relation == "in step":
        out["rotation"] = f"{level.capitalize()} rotation in step with the cycles."
    else:
        out["rotation"] = f"{level.capitalize()} irregular rotation."
    if p.impact == ("no",):
        out["impact"] = "No vertical impacts."
    elif p.cadence:
        out["impact"] = f"{_either(p.impact).capitalize()} vertical impact at each cycle."
    else:
        out["impact"] = f"{_either(p.impact).capitalize()} irregular vertical bumps."
    return out


_ORDERS: tuple[tuple[str, ...], ...] = (
    ("strength", "axes", "rhythm", "waveform", "posture", "rotation", "impact"),
    ("posture", "strength", "rhythm", "waveform", "impact", "rotation"),
    ("rhythm", "waveform", "impact", "strength", "posture", "axes"),
    ("strength", "posture", "rhythm", "rotation", "impact"),
    ("waveform", "posture", "strength", "impact", "axes", "rhythm"),
)
"""Which points each of the five descriptions states, in which order (Ca3 needs them to differ)."""


def sensor_sentences(activity: str, segment: Segment | None, index: int) -> str:
    """The sensor-pattern aspect of description ``index`` for ``segment`` (None: placement-independent)."""
    sentences = _sentences(PROFILES[activity], segment)
    text = " ".join(sentences[k] for k in _ORDERS[index % len(_ORDERS)])
    if segment is None or segment == "unknown":
        return text
    return f"Seen from a device on the {SEGMENT_NAMES[segment]}: {text}"


def description_segment(text: str) -> Segment | None:
    """The segment a description was written for (its marker), or ``None`` for a placement-independent one."""
    match = _MARKER.search(text)
    return match.group(1).lower() if match else None  # type: ignore[return-value]


def select_descriptions(descriptions: Sequence[str], segment: str) -> list[str]:
    """The descriptions to embed a label with for a recording on ``segment``.

    Those written for that segment when there are any, else the placement-independent ones,
    else all (a collection whose descriptions are all for other segments still has a label).
    """
    own = [d for d in descriptions if description_segment(d) == segment]
    if own:
        return own
    generic = [d for d in descriptions if description_segment(d) is None]
    return generic or list(descriptions)
