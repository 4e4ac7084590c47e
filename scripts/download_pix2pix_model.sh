#!/usr/bin/env bash
# Download one of the reference's pretrained pix2pix generators into ./checkpoints/NAME_pretrained/latest_net_G.pth.
#   bash ./scripts/download_pix2pix_model.sh facades_label2photo
#   python translate.py --name facades_label2photo_pretrained --model pix2pix --input labels/ --output out/
# CHECKPOINTS_DIR=DIR saves under DIR instead; DRY_RUN=1 prints the URL and the target without downloading.
set -euo pipefail

NAMES="edges2shoes sat2map map2sat facades_label2photo day2night"
URL_BASE="https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch"
FLAGS="--model pix2pix"

source "$(dirname "${BASH_SOURCE[0]}")/download_model_common.sh"
