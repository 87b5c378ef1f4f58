# A rule that fails: through the SLURM executor the run must end with an error, not hang.


rule fail:
    output:
        "never.txt",
    shell:
        "echo failing on purpose >&2; exit 3"
