"""Tests of the renderers (``eval/render/``)."""
