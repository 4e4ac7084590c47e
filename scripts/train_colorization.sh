set -ex
python train.py --dataroot ./datasets/colorization --name color_pix2pix --model colorization
