"""Chapter `captioning`: show and tell, simplified (seed 002 TP 5).

Kind `show_and_tell`: Flickr8k's captions over a kept vocabulary, each photo's VGG16 features
(extracted once by the `extract_features` rule) reduced by PCA, the caption words' GloVe vectors
of chapter `sequences` (its `glove_clusters` variant named by `embeddings:`), a masked SimpleRNN
trained on the shared runner's `masked_sequence` task; then greedy and sampled captions, and BLEU.
"""

from reprolab import paths
from reprolab.chapters.sequences import seed_files
from reprolab.kinds import Kind, prepared_data, register
from reprolab.registry import Variant, resolve


def caption_inputs(variant: Variant, config: dict) -> dict[str, str]:
    """The prepared Flickr8k (captions, test photos), its features, and the word vectors of the
    variant named by `embeddings` (`chapter/experiment/variant`)."""
    inputs = prepared_data(variant, config)
    source = resolve(config, *variant.params["embeddings"].split("/"))
    inputs["embeddings"] = f"{paths.variant_dir(source.id)}/embeddings.pt"
    return inputs


register(Kind("show_and_tell", job="reprolab.chapters.captioning.jobs:show_and_tell",
              outputs=("metrics.json", "history.csv", "curves.png", "captions.json", "vocabulary.png",
                       "photos.png"),
              extra_outputs=seed_files, inputs=caption_inputs,
              summarize="reprolab.chapters.captioning.report:show_and_tell", resources="train", gpu=True))
