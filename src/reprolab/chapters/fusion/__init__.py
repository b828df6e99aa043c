"""Chapter `fusion`: audio-visual fusion on AV-MNIST (seed 001).

The five networks use the core `train` kind. Kind `avmnist_samples`: a grid of image and
spectrogram pairs, the split sizes, and a nearest-class-mean baseline per modality.
"""

from reprolab.kinds import Kind, register

register(Kind("avmnist_samples", job="reprolab.chapters.fusion.jobs:samples",
              outputs=("metrics.json", "samples.png"), summarize="reprolab.chapters.fusion.report:samples"))
