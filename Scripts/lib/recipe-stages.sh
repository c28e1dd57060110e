# The stage runner of the training recipes (Scripts/train-default-model, Scripts/train-procedural-model).
# The sourcing script sets bin, work (its WORK_DIR) and, optionally, the array stage_options
# (options every stage's `svdmv train` gets), then calls recipe_stages_begin, one `stage` per
# stage, and recipe_timing_summary DATA_DESCRIPTION at the end (which exits in timing mode).
#
# Timing mode (RECIPE_TIMING_STEPS=N): every stage runs N steps instead of its own, each from the
# previous stage's N-step model, in WORK_DIR/timing-N (made afresh; the data and the real runs are
# left as they are), and the summary prints each stage's median seconds per step (its first 5
# steps left out) times its real step count: the recipe's time on this machine in minutes, from
# the same options as the real run.
recipe_stages_begin() {
    timing_steps=${RECIPE_TIMING_STEPS:-}
    runs=$work
    if [ -n "$timing_steps" ]; then
        runs=$work/timing-$timing_steps
        rm -rf "$runs"
    fi
    estimates=()
}

# stage NAME STEPS TRAIN_OPTIONS...: svdmv train into $runs/NAME, resuming an interrupted run; a
# finished stage (its model.safetensors written) is not run again.
stage() {
    local name=$1 stage_steps=$2; shift 2
    local run_steps=${timing_steps:-$stage_steps}
    if [ ! -f "$runs/$name/model.safetensors" ]; then
        local resume=()
        [ -d "$runs/$name/checkpoints" ] && resume=(--resume)
        $bin train --data "$work/shards" --out "$runs/$name" --steps "$run_steps" "${stage_options[@]}" "$@" "${resume[@]}"
    fi
    if [ -n "$timing_steps" ]; then
        estimates+=("$(tail -n +7 "$runs/$name/metrics.csv" | cut -d, -f5 | sort -g |
            awk -v name="$name" -v steps="$stage_steps" '{ t[NR] = $1 }
                END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                      printf "%-12s %5d steps x %.3f s = %5.1f min\n", name, steps, m, steps * m / 60 }')")
    fi
}

# recipe_timing_summary DATA_LINE: in timing mode, the data line and the per-stage estimates, then exit.
recipe_timing_summary() {
    [ -n "$timing_steps" ] || return 0
    echo "$1"
    printf '%s\n' "${estimates[@]}"
    printf '%s\n' "${estimates[@]}" | awk '{ total += $(NF - 1) } END { printf "training stages: %.0f min (medians; loading and checkpoints come on top)\n", total }'
    exit 0
}
