#!/usr/bin/env bash
# Download one of the reference's pretrained CycleGAN generators into ./checkpoints/NAME_pretrained/latest_net_G.pth.
#   bash ./scripts/download_cyclegan_model.sh horse2zebra
#   python translate.py --name horse2zebra_pretrained --model test --no_dropout --input photos/ --output out/
# CHECKPOINTS_DIR=DIR saves under DIR instead; DRY_RUN=1 prints the URL and the target without downloading.
set -euo pipefail

NAMES="apple2orange orange2apple summer2winter_yosemite winter2summer_yosemite horse2zebra zebra2horse monet2photo style_monet style_cezanne style_ukiyoe style_vangogh sat2map map2sat cityscapes_photo2label cityscapes_label2photo facades_photo2label facades_label2photo iphone2dslr_flower"
URL_BASE="https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models"
FLAGS="--model test --no_dropout"

source "$(dirname "${BASH_SOURCE[0]}")/download_model_common.sh"
