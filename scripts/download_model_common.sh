# The body of download_{pix2pix,cyclegan}_model.sh: check the name, then fetch $URL_BASE/NAME.pth to
# $CHECKPOINTS_DIR/NAME_pretrained/latest_net_G.pth (the reference's layout). Sourced, not run.
FILE="${1:-}"
usage() {
    echo "usage: bash $0 NAME   (NAME: ${NAMES// /, })" >&2
}
if [[ -z "$FILE" || $# -ne 1 ]]; then
    echo "error: give exactly one model name" >&2
    usage
    exit 2
fi
if [[ " $NAMES " != *" $FILE "* ]]; then
    echo "error: unknown model '$FILE'; available models are ${NAMES// /, }" >&2
    exit 2
fi

URL="$URL_BASE/$FILE.pth"
TARGET_DIR="${CHECKPOINTS_DIR:-./checkpoints}/${FILE}_pretrained"
MODEL_FILE="$TARGET_DIR/latest_net_G.pth"
echo "Specified [$FILE]: $URL -> $MODEL_FILE"
if [[ "${DRY_RUN:-0}" == "1" ]]; then
    exit 0
fi

mkdir -p "$TARGET_DIR"
if command -v wget >/dev/null; then
    wget -N "$URL" -O "$MODEL_FILE.part"
elif command -v curl >/dev/null; then
    curl -fL "$URL" -o "$MODEL_FILE.part"
else
    echo "error: neither wget nor curl is installed; install one, or fetch $URL to $MODEL_FILE by hand" >&2
    exit 2
fi
mv "$MODEL_FILE.part" "$MODEL_FILE"  # an interrupted download leaves no half-written latest_net_G.pth
echo "saved $MODEL_FILE; translate with:"
echo "  python translate.py --name ${FILE}_pretrained --checkpoints_dir ${CHECKPOINTS_DIR:-./checkpoints} $FLAGS --input IMAGES --output OUT"
