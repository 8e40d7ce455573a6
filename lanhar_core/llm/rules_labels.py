"""Curated label descriptions of the ``rules`` backend (three aspects each, paper section 3.3.2).

Descriptions number ``i`` of a label combines the i-th general sentence, the i-th sensor
sentence and the i-th body-parts sentence, so the N descriptions differ as the
multi-description loss needs. The sensor sentences deliberately reuse the level words of the
rule-based window summaries (intensity, cadence, regularity, impact, rotation), so that a
window's text and its label's description meet in the text encoder's space. Labels without
curated text (user labels, rarer built-ins) get an honest generic description built from the
display name and the category, never invented specifics.
"""

from __future__ import annotations

from lanhar_core.llm.activity_profiles import PROFILES, sensor_sentences
from lanhar_core.placement import SEGMENT_NAMES, SEGMENTS
from lanhar_core.vocab import category_of

Aspects = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]

CURATED: dict[str, Aspects] = {
    "walk": (
        (
            "Walking is the everyday way of moving on foot over level ground, at a self-selected speed, indoors or outdoors.",
            "Walking is a rhythmic gait in which one foot is always on the ground; people walk to commute, shop or move between rooms.",
            "Walking on level ground is the most common form of locomotion and the reference against which other gaits are compared.",
            "Walking moves the body forward by alternating steps, with the trunk upright and the arms swinging in opposition to the legs.",
            "Walking is a low-effort, sustained activity performed for minutes to hours during daily life.",
        ),
        (
            "Moderate to high intensity with a regular periodic rhythm at a brisk cadence of about 100 to 120 beats per minute; acceleration is balanced between vertical and horizontal, and each step produces a moderate vertical impact.",
            "The vertical acceleration oscillates once per step with moderately peaked waves that are symmetric from cycle to cycle; the rotation closely follows the acceleration rhythm.",
            "Moderate vertical impacts at each heel strike, a stable orientation and no sustained turning; mild to moderate rotation, mainly about horizontal axes (pitch and roll) at the waist.",
            "The device keeps a stable upright orientation; the step rhythm is regular with evenly spaced peaks, and the horizontal sway repeats at half the step rate.",
            "High jerk at heel strike, moderate intensity overall, a steady to brisk cadence, and periodic rotation in step with the acceleration.",
        ),
        (
            "Legs (quadriceps, hamstrings, calves), hips and glutes drive the motion; the arms swing for balance.",
            "Hip flexors and extensors, knee and ankle joints, with the core stabilising the trunk.",
            "Calf muscles push off, the tibialis anterior lifts the foot, and the glutes keep the pelvis level.",
            "Lower limbs do the work while the trunk, shoulders and arms counter-rotate for balance.",
            "Feet, ankles, knees and hips in alternating stance and swing phases, with the abdominal and back muscles stabilising.",
        ),
    ),
    "upstairs": (
        (
            "Walking upstairs means climbing a staircase step by step, lifting the body against gravity at each stair.",
            "Going up stairs is a demanding gait found in homes, offices and stations, often with a handrail and turns at landings.",
            "Ascending stairs raises the body about 15 to 20 cm per step and is slower than walking on level ground.",
            "Stair ascent combines forward stepping with vertical lifting of the whole body weight.",
            "Walking upstairs is a short bout of effortful locomotion, usually lasting seconds to a minute per flight.",
        ),
        (
            "High intensity with a regular periodic rhythm at a steady cadence, slightly slower than level walking; acceleration is vertical-leaning and each step produces a strong vertical push-off.",
            "Smooth, rounded to moderately peaked waves, symmetric from cycle to cycle, with evenly spaced peaks; rotation about the vertical axis appears when turning on landings.",
            "Strong vertical impacts from lifting the body, moderate rotation that partly follows the acceleration rhythm, and more trunk pitch than on level ground.",
            "A steady cadence of about 90 to 105 beats per minute, high vertical energy share, and turning about the vertical axis at each landing.",
            "Moderate to high jerk, a stable orientation within a step, and moderate rotation mainly about horizontal axes while climbing.",
        ),
        (
            "Quadriceps and glutes lift the body; calves push off from each stair.",
            "Hip and knee extensors work hard, with the core and arms (on the handrail) assisting balance.",
            "Thighs, hips and ankles, with more knee flexion than level walking.",
            "Gluteus maximus, quadriceps and gastrocnemius, with the trunk leaning slightly forward.",
            "Legs bear and raise the full body weight at each step; the arms and trunk stabilise.",
        ),
    ),
    "downstairs": (
        (
            "Walking downstairs means descending a staircase step by step, controlling the body's fall at each stair.",
            "Going down stairs is common in buildings and stations and is usually faster than climbing them.",
            "Stair descent lowers the body about 15 to 20 cm per step with a braking, eccentric effort of the legs.",
            "Descending stairs is a controlled falling gait in which each foot lands on a lower step.",
            "Walking downstairs is a short bout of locomotion that lasts seconds to a minute per flight.",
        ),
        (
            "Very high to high intensity with a regular periodic rhythm at a brisk cadence; acceleration is strongly vertical-dominant and each step produces a very strong vertical impact.",
            "Moderately peaked waves to sharp, impulsive peaks from landing on each lower step, with high jerk and evenly spaced peaks.",
            "Strong to very strong vertical impacts, the largest vertical peak-to-peak of the common gaits, and moderate rotation mainly about the vertical axis on landings.",
            "A brisk cadence of about 100 to 120 beats per minute, a high vertical energy share, and rotation that is partly independent of the acceleration rhythm.",
            "Tall vertical peaks at each landing, a stable orientation within a flight, and turning about the vertical axis between flights.",
        ),
        (
            "Quadriceps brake the descent eccentrically; calves and ankles absorb the landing.",
            "Knees and ankles absorb impacts while the hips and core keep the trunk stable.",
            "Thigh muscles, shins and feet, with the arms or a handrail assisting balance.",
            "Eccentric work of the quadriceps and calf muscles, with the trunk upright or slightly back.",
            "Legs cushion each landing; the core and arms help keep balance.",
        ),
    ),
    "sit": (
        (
            "Sitting is resting the body's weight on the buttocks, on a chair, sofa or seat, typically while working, eating or watching.",
            "Sitting is a static posture with the hips and knees flexed and the trunk upright or reclined.",
            "Sitting is one of the most common daily postures, held for minutes to hours at a desk or in a vehicle.",
            "Sitting supports the body on a seat so that the legs carry almost no weight.",
            "Sitting is a still, low-effort posture with occasional shifts of position.",
        ),
        (
            "Very low intensity; the device is essentially motionless, with no rhythm, no vertical impacts and negligible rotation.",
            "A flat trace with only small irregular fluctuations and a stable orientation; gravity sits on a device axis that differs from the upright posture because the trunk or thigh is tilted.",
            "No step rhythm, an aperiodic, nearly flat signal, negligible rotation and a stable orientation, with rare small shifts.",
            "Body acceleration close to zero, the gravity direction constant, and at most a slight orientation drift when the person shifts on the seat.",
            "Very low intensity and no vertical impacts; a device on the thigh lies horizontal, one at the waist is tilted back from vertical.",
        ),
        (
            "Buttocks and thighs carry the weight; the back and core hold the trunk.",
            "Hips and knees are flexed; postural muscles of the back and neck are lightly active.",
            "Spine, pelvis and the muscles of the lower back, with the legs relaxed.",
            "Core and back muscles keep the trunk upright; the arms may move on a desk.",
            "Gluteal region and thighs in contact with the seat, shoulders and neck holding the head.",
        ),
    ),
    "stand": (
        (
            "Standing is remaining upright on both feet without moving forward, for example while waiting or talking.",
            "Standing is a static upright posture in which the legs carry the whole body weight.",
            "Standing still occurs in queues, at counters, while cooking or at a standing desk.",
            "Standing keeps the body vertical with small balance corrections.",
            "Standing is a low-effort posture held for seconds to many minutes.",
        ),
        (
            "Very low intensity; the device is essentially motionless, with no rhythm, no vertical impacts and negligible rotation.",
            "A flat trace with only small irregular fluctuations from postural sway; the orientation is stable and upright, with gravity along the body's long axis.",
            "No step rhythm, an aperiodic, nearly flat signal, negligible to mild rotation, and a stable orientation.",
            "Body acceleration close to zero and a constant gravity direction along the body's long axis; slight drift when weight shifts between feet.",
            "Very low intensity without vertical impacts; the device axis along the body points up.",
        ),
        (
            "Legs, ankles and feet carry the weight; calf muscles make small balance corrections.",
            "Hip and knee extensors and the core keep the body upright.",
            "Postural muscles of the back, the glutes and the calves.",
            "Feet and ankles balance the body while the trunk and neck hold the head upright.",
            "Whole-body postural control with the legs straight and the spine vertical.",
        ),
    ),
    "lie": (
        (
            "Lying down is resting the body horizontally on a bed, sofa or floor, as when sleeping or relaxing.",
            "Lying is a static posture in which the whole body is supported by a surface.",
            "Lying down occurs during sleep, rest and recovery and is held for long periods.",
            "Lying puts the trunk horizontal, on the back, the side or the front.",
            "Lying down is the lowest-effort posture, with almost no muscle work.",
        ),
        (
            "Very low intensity; the device is essentially motionless, with no rhythm, no vertical impacts and negligible rotation.",
            "A flat trace with a stable orientation in which gravity falls on a device axis that is horizontal when upright.",
            "No step rhythm, an aperiodic, nearly flat signal and negligible rotation; the gravity direction differs sharply from sitting and standing.",
            "Body acceleration close to zero, a constant gravity direction and only slight drift when turning over.",
            "Very low intensity without vertical impacts; the device is tilted about 90 degrees from its upright orientation.",
        ),
        (
            "The back, shoulders and hips rest on the surface; muscles are relaxed.",
            "Whole body supported; neck and head on a pillow, limbs resting.",
            "Minimal muscle activity; breathing muscles and occasional limb movements.",
            "Spine horizontal, hips and knees extended or slightly bent.",
            "Trunk, pelvis and legs supported by the surface, with the arms relaxed.",
        ),
    ),
    "jog": (
        (
            "Jogging or running is fast locomotion on foot with a flight phase in which both feet leave the ground.",
            "Running is a vigorous gait used for exercise, sport and hurrying, outdoors or on a treadmill.",
            "Jogging is sustained running at a comfortable pace, typically for fitness.",
            "Running propels the body forward in bounds, landing on one foot at a time.",
            "Jogging or running is a high-effort locomotion lasting minutes to hours.",
        ),
        (
            "Very high intensity with a highly regular periodic rhythm at a fast to very fast cadence of about 150 to 180 beats per minute; each step produces a very strong vertical impact.",
            "Sharp, impulsive peaks at each foot strike, strongly vertical-dominant acceleration, and very high jerk.",
            "Very strong vertical impacts and the largest vertical peak-to-peak of everyday activities; strong rotation that closely follows the acceleration rhythm.",
            "Fast cadence with symmetric, evenly spaced peaks; strong periodic rotation about horizontal axes.",
            "Very high intensity, very strong vertical impacts, and near-free-fall phases between landings.",
        ),
        (
            "Legs (quadriceps, hamstrings, calves) and glutes generate propulsion; the arms swing strongly.",
            "Hips, knees and ankles absorb and return landing forces; the core stabilises the trunk.",
            "Calf muscles and Achilles tendons store and release energy at each stride.",
            "Whole lower body plus the shoulders and arms, with the cardiovascular system working hard.",
            "Feet, ankles and knees take repeated impacts; the abdominal and back muscles keep posture.",
        ),
    ),
    "bike": (
        (
            "Cycling is riding a bicycle, propelled by pedalling, for commuting, leisure or sport.",
            "Cycling is seated locomotion in which the legs turn the pedals in circles.",
            "Biking takes place on roads, paths or indoors on a stationary trainer.",
            "Cycling moves the rider forward while the trunk stays relatively still on the saddle.",
            "Cycling is a sustained, rhythmic endurance activity.",
        ),
        (
            "Moderate intensity with a regular periodic rhythm at the pedalling rate; soft vertical impacts and smooth, rounded oscillations.",
            "A device on the thigh or in a trouser pocket shows strong periodic rotation in step with pedalling; one at the waist shows mild rotation and low body acceleration.",
            "Smooth, rounded oscillations without sharp peaks, road vibration as small irregular fluctuations, and rotation about the vertical axis when steering through turns.",
            "A steady cadence of about 60 to 90 pedal strokes per minute, soft or no vertical impacts, and a tilted trunk orientation.",
            "Low to moderate intensity at the waist, periodic rotation that closely follows the acceleration rhythm at the legs.",
        ),
        (
            "Quadriceps, hamstrings, glutes and calves turn the pedals.",
            "Hips, knees and ankles move in circles; the arms and shoulders hold the handlebar.",
            "Thigh muscles do most of the work while the core stabilises the trunk on the saddle.",
            "Legs and hips pedal; the hands, arms and upper back steer and support.",
            "Lower limbs rotate continuously while the upper body stays largely still.",
        ),
    ),
    "jump": (
        (
            "Jumping is pushing off the ground with both legs so that the body briefly leaves it.",
            "Jumping occurs in sport, play and exercise, either once or repeatedly in place.",
            "A jump has a crouch, an explosive take-off, a flight and a landing.",
            "Jumping in place is a vigorous exercise of repeated take-offs and landings.",
            "Jumping is a short, high-effort burst of movement.",
        ),
        (
            "Very high intensity with strongly vertical-dominant acceleration and very strong vertical impacts at each landing.",
            "Sharp, impulsive peaks from landings separated by near-free-fall phases where total acceleration drops toward zero.",
            "A regular periodic rhythm when jumping repeatedly, at a slow to steady cadence, with very high jerk.",
            "Very strong vertical impacts and large vertical peak-to-peak acceleration, with moderate rotation about horizontal axes.",
            "Bursts of very high intensity separated by brief pauses, with little turning.",
        ),
        (
            "Quadriceps, glutes and calves produce the take-off.",
            "Hips, knees and ankles extend explosively and then absorb the landing.",
            "Legs and feet, with the arms swinging upward to add momentum.",
            "Calf muscles and Achilles tendons, with the core stabilising the trunk in flight.",
            "Whole lower body, plus shoulders and arms for balance and momentum.",
        ),
    ),
}

_CATEGORY_SENSOR: dict[str | None, str] = {
    "locomotion": "As a form of locomotion it typically shows a periodic rhythm in the acceleration, with vertical impacts and rotation that follow the rhythm; intensity and cadence depend on the speed.",
    "static": "As a static posture it typically shows very low intensity, no rhythm and a stable orientation; the posture shows in which device axis carries gravity.",
    "stairs": "As a stair gait it typically shows a regular periodic rhythm with strong vertical acceleration and impacts, and turning on landings.",
    None: "Its accelerometer and gyroscope patterns depend on how the body moves during it: the intensity, any rhythm, the dominant axis, the orientation and the impacts follow from the movements involved.",
}


_CATEGORY_GENERAL: dict[str | None, str] = {
    "locomotion": " It is a form of locomotion.",
    "static": " It is a still posture.",
    "stairs": " It is a stair gait.",
    None: "",
}


def _generic(display: str, category: str | None) -> tuple[str, str, str]:
    """Three aspects that state only what the name and category support, nothing invented."""
    general = f"{display[0].upper() + display[1:]} is the activity this label names.{_CATEGORY_GENERAL.get(category, '')}"
    sensor = _CATEGORY_SENSOR.get(category, _CATEGORY_SENSOR[None])
    body = f"The body parts involved are those that {display} requires."
    return general, sensor, body


def describe_label(activity: str, display: str, index: int) -> str:
    """Description number ``index`` of ``activity`` in the three-aspect format parsed by ``parse_label_reply``."""
    if activity in CURATED:
        general, sensor, body = (aspect[index % len(aspect)] for aspect in CURATED[activity])
    else:
        general, sensor, body = _generic(display or activity.replace("_", " "), category_of(activity))
    return f"1. General description: {general}\n2. Sensor patterns: {sensor}\n3. Body parts: {body}"


def describe_label_grounded(activity: str, display: str, index: int, segment: str = "") -> str:
    """``rules-v3`` description ``index`` of ``activity`` for a device on ``segment`` ("" : any placement).

    The sensor patterns come from the activity's physical profile in the window writer's own
    phrases (``activity_profiles``); general and body-part aspects reuse the curated
    sentences where they exist. A label without a profile (a user's) gets the generic,
    invention-free description.
    """
    seg = segment if segment in SEGMENTS else None
    if activity not in PROFILES:
        general, sensor, body = _generic(display or activity.replace("_", " "), category_of(activity))
        if seg is not None:
            sensor = f"Seen from a device on the {SEGMENT_NAMES[seg]}: {sensor}"
    else:
        profile = PROFILES[activity]
        if activity in CURATED:
            general, _, body = (aspect[index % len(aspect)] for aspect in CURATED[activity])
        else:
            general, body = profile.general, profile.body
        sensor = sensor_sentences(activity, seg, index)
    return f"1. General description: {general}\n2. Sensor patterns: {sensor}\n3. Body parts: {body}"
