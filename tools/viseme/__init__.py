"""Training of the audio-to-viseme model (`python -m tools.viseme.train`).

Its corpus is synthesised with espeak-ng; inference lives in `generator.viseme` and needs
none of this.
"""
