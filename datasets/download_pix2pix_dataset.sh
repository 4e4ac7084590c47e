#!/usr/bin/env bash
# Download one of the public pix2pix datasets into ./datasets/NAME (A|B images for --dataset_mode aligned).
#   bash ./datasets/download_pix2pix_dataset.sh facades
# DRY_RUN=1 prints what would be downloaded, and where, without downloading.
set -euo pipefail

NAMES="cityscapes night2day edges2handbags edges2shoes facades maps"
FILE="${1:-}"

usage() {
    echo "usage: bash $0 NAME   (NAME: ${NAMES// /, })" >&2
}

if [[ -z "$FILE" ]]; then
    usage
    exit 1
fi
if [[ " $NAMES " != *" $FILE "* ]]; then
    echo "error: unknown dataset '$FILE'; available datasets are ${NAMES// /, }" >&2
    usage
    exit 1
fi
if [[ "$FILE" == "cityscapes" ]]; then
    echo "Due to its license, Cityscapes cannot be downloaded from here: get gtFine_trainvaltest.zip and" >&2
    echo "leftImg8bit_trainvaltest.zip from https://cityscapes-dataset.com and combine them into A|B images." >&2
    exit 1
fi

URL="https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/$FILE.tar.gz"
TAR_FILE="./datasets/$FILE.tar.gz"
TARGET_DIR="./datasets/$FILE/"
echo "Specified [$FILE]: $URL -> $TARGET_DIR"
if [[ "${DRY_RUN:-0}" == "1" ]]; then
    exit 0
fi

mkdir -p ./datasets
if command -v wget >/dev/null; then
    wget -N "$URL" -O "$TAR_FILE"
else
    curl -fL "$URL" -o "$TAR_FILE"
fi
mkdir -p "$TARGET_DIR"
tar -zxvf "$TAR_FILE" -C ./datasets/
rm "$TAR_FILE"
