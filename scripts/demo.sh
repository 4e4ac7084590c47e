#!/usr/bin/env bash
# The whole job on a fresh machine, no download: set up .venv, write the built-in paired dataset, train
# pix2pix for a few CPU minutes (validating after each epoch: checkpoints/NAME/metrics_log.txt), translate
# the test set, score it with evaluate.py, and print where the galleries are.
# Usage: bash scripts/demo.sh            (pix2pix on facades_synth)
#        bash scripts/demo.sh cyclegan   (CycleGAN on shapes2synth)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup_env.sh
py=.venv/bin/python
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"

if [ "${1:-pix2pix}" = "cyclegan" ]; then
  data=datasets/data/shapes2synth name=shapes2synth_cyclegan
  [ -f "$data/BUILTIN_DATASET.txt" ] || $py datasets/make_builtin_dataset.py --kind unpaired --size 64 --n_train 100 --n_test 10
  $py train.py --dataroot "$data" --name "$name" --model cycle_gan --netG resnet_6blocks --ngf 16 --ndf 16 \
    --load_size 72 --crop_size 64 --n_epochs 3 --n_epochs_decay 2 --display_id 0 --num_threads 2 \
    --print_freq 50 --display_freq 50 --val_freq 1 --val_phase test
  $py test.py --dataroot "$data/testA" --name "$name" --model test --model_suffix _A --load_size 64 --crop_size 64
  # testB_gt holds the true translations of testA (same file names): paired scores for an unpaired model
  $py evaluate.py --results_dir "results/$name/test_latest" --gt_dir "fake=$data/testB_gt" --metrics l1,psnr,ssim
else
  data=datasets/data/facades_synth name=facades_synth_pix2pix
  [ -f "$data/BUILTIN_DATASET.txt" ] || $py datasets/make_builtin_dataset.py --kind paired --size 128
  $py train.py --dataroot "$data" --name "$name" --model pix2pix --netG unet_128 --ngf 32 --ndf 32 \
    --load_size 143 --crop_size 128 --n_epochs 2 --n_epochs_decay 1 --display_id 0 --num_threads 2 \
    --print_freq 100 --display_freq 100 --val_freq 1
  $py test.py --dataroot "$data" --name "$name" --model pix2pix --load_size 128 --crop_size 128 --num_test 20
  $py evaluate.py --results_dir "results/$name/test_latest" --metrics l1,psnr,ssim
fi
echo
echo "training gallery: checkpoints/$name/web/index.html"
echo "test gallery:     results/$name/test_latest/index.html (with the scores)"
echo "validation log:   checkpoints/$name/metrics_log.txt"
