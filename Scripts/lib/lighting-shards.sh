# lighting_shards BIN WORK OUT [DATASET_OPTION...]: the training shards of the recipe's three
# lightings (WORK/renders-{studio,hdri-1,hdri-2}), 4 samples per orbit, in one folder OUT with each
# shard named <lighting>-shard-NNNNNN.tar; written under OUT.tmp and moved into place when whole,
# and not rewritten when OUT exists. Sourced by Scripts/train-default-model and
# Scripts/real-objects-experiments.
lighting_shards() {
    local bin=$1 work=$2 out=$3 lighting shard; shift 3
    [ -d "$out" ] && return
    rm -rf "$out.tmp"
    for lighting in studio hdri-1 hdri-2; do
        "$bin" dataset renders "$work/renders-$lighting" --out "$out.tmp/$lighting" --samples-per-orbit 4 "$@"
        for shard in "$out.tmp/$lighting"/*.tar; do mv "$shard" "$out.tmp/$lighting-$(basename "$shard")"; done
        rm -rf "$out.tmp/$lighting"
    done
    mv "$out.tmp" "$out"
}
