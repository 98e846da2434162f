# Estimates pi by sampling points in the unit square: the fraction inside the quarter circle
# is pi/4. Each task draws its own sample, seeded by its TASK_INDEX, so every replica of
# task i draws the same points and writes byte-identical output (see docs/manifest.md,
# "Making a job deterministic"). Integers only in the output: no float formatting to differ.
BEGIN {
  task = ENVIRON["TASK_INDEX"] + 0
  # The sample size comes from the task's argument (tasks.args) or else from the environment.
  samples = ARGC > 1 ? ARGV[1] + 0 : ENVIRON["SAMPLES"] + 0
  srand(1000 + task)
  hits = 0
  for (i = 0; i < samples; i++) {
    x = rand()
    y = rand()
    if (x * x + y * y <= 1) hits++
  }
  printf "%d %d %d\n", task, hits, samples > "/output/hits.txt"
}
