#!/usr/bin/env bash
# Download one of the public CycleGAN datasets into ./datasets/NAME (trainA, trainB, testA, testB).
#   bash ./datasets/download_cyclegan_dataset.sh horse2zebra
# DRY_RUN=1 prints what would be downloaded, and where, without downloading.
set -euo pipefail

NAMES="apple2orange summer2winter_yosemite horse2zebra monet2photo cezanne2photo ukiyoe2photo vangogh2photo maps cityscapes facades iphone2dslr_flower ae_photos"
# Accepted as in the reference but not advertised: small sets for quick checks.
HIDDEN="mini mini_pix2pix mini_colorization"
FILE="${1:-}"

usage() {
    echo "usage: bash $0 NAME   (NAME: ${NAMES// /, })" >&2
}

if [[ -z "$FILE" ]]; then
    usage
    exit 1
fi
if [[ " $NAMES $HIDDEN " != *" $FILE "* ]]; then
    echo "error: unknown dataset '$FILE'; available datasets are ${NAMES// /, }" >&2
    usage
    exit 1
fi
if [[ "$FILE" == "cityscapes" ]]; then
    echo "Due to its license, Cityscapes cannot be downloaded from here: get gtFine_trainvaltest.zip and" >&2
    echo "leftImg8bit_trainvaltest.zip from https://cityscapes-dataset.com and sort them into trainA/trainB." >&2
    exit 1
fi

URL="https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/$FILE.zip"
ZIP_FILE="./datasets/$FILE.zip"
TARGET_DIR="./datasets/$FILE/"
echo "Specified [$FILE]: $URL -> $TARGET_DIR"
if [[ "${DRY_RUN:-0}" == "1" ]]; then
    exit 0
fi

mkdir -p ./datasets
if command -v wget >/dev/null; then
    wget -N "$URL" -O "$ZIP_FILE"
else
    curl -fL "$URL" -o "$ZIP_FILE"
fi
mkdir -p "$TARGET_DIR"
unzip "$ZIP_FILE" -d ./datasets/
rm "$ZIP_FILE"
