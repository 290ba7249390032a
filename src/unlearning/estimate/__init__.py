"""What a run will cost, before it starts (``make estimate`` or ``python -m unlearning.estimate``).

1. **Plan**: a Snakemake dry run of the config lists the jobs still to run, with their wildcards.
2. **Work**: each job is counted in images passed through the model, from the config and the
   data's sizes (:mod:`unlearning.estimate.work`): a training or unlearning step is one image
   forward and backward, an evaluation one image forward.
3. **Calibration**: one timed training batch and one timed evaluation batch per architecture,
   image size, channels, classes and batch size on this machine, with the config's torch
   threads, plus the start-up of a job (:mod:`unlearning.estimate.calibrate`); cached under
   ``.cache/estimate/``.
4. **Estimate**: work times seconds per image plus start-up per job, summed per rule.

The dry run and the work model import no torch; the calibration does.
"""
