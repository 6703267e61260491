"""Zero-shot CLIP scoring of the sketches (and of the photos they were drawn from).

`sketchlab score` writes scores.csv (docs/scoring.md); the report reads it. The modules, one
concept each:

- `prompts`: the prompt sets (data, in prompts.json) and their hashes;
- `circularity`: when a scorer is the network the sketches were optimised against;
- `data`: the images to score (stimuli.csv's PNGs, images.csv's photos) and their Dataset;
- `classifier`: the zero-shot classifier maths (clip_benchmark's conventions);
- `scorer`: a loaded model, and scoring a table of images with it;
- `summaries`: the per-level summary and writing scores.csv with it.

`prompts`, `circularity` and `summaries` do not import torch, so the report can use them;
this file imports nothing, so `import scoring` stays light.
"""
