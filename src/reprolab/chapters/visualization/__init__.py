"""Chapter `visualization`: what ImageNet networks look at (seed 003 TP 8, seed 000 ex. 3).

Kinds: `saliency` (saliency maps), `fooling` (fooling images for a target class), `class_visualization`
(gradient ascent on a class's score, from noise or from a photo) and `cam` (class activation maps and
Grad-CAM of a ResNet's last stage, the vanilla gradient and LayerCAM per stage, and the robustness of
the top-1 class and of the CAM under elastic distortion and contrast changes). Every kind reads the
weights of its network's asset (a fixture without a file at smoke scale: a randomly initialised
network) and the photos of `reprolab.data.photos`.
"""

from reprolab.kinds import Kind, register
from reprolab.pretrained import pretrained_inputs

JOBS = "reprolab.chapters.visualization.jobs"
REPORT = "reprolab.chapters.visualization.report"

register(Kind("saliency", job=f"{JOBS}:saliency", outputs=("metrics.json", "saliency.png"),
              inputs=pretrained_inputs, summarize=f"{REPORT}:saliency"))
register(Kind("fooling", job=f"{JOBS}:fooling", outputs=("metrics.json", "fooling.png"),
              inputs=pretrained_inputs, summarize=f"{REPORT}:fooling", resources="train", gpu=True))
register(Kind("class_visualization", job=f"{JOBS}:class_visualization",
              outputs=("metrics.json", "class_viz.png"), inputs=pretrained_inputs,
              summarize=f"{REPORT}:class_visualization", resources="train", gpu=True))
register(Kind("cam", job=f"{JOBS}:cam", outputs=("metrics.json", "cam.png"), inputs=pretrained_inputs,
              extra_outputs=lambda v: ("gradients.png",) if v.params.get("stages") else (),
              summarize=f"{REPORT}:cam"))
