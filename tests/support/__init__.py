"""What several test modules, the tuning scripts and the benches share: generated alignment
problems with known answers (``synth``). Not part of the installed package."""
