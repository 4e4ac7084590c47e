"""Flags only train.py takes (SPEC §1), plus this project's speed and scale flags."""

import argparse


def add_train_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    g = parser.add_argument_group("display and saving")
    g.add_argument(
        "--display_freq",
        type=int,
        default=400,
        help="frequency (in images) of showing training results on screen",
    )
    g.add_argument(
        "--update_html_freq",
        type=int,
        default=1000,
        help="frequency (in images) of saving training results to html",
    )
    g.add_argument(
        "--print_freq",
        type=int,
        default=100,
        help="frequency (in images) of showing training results on console",
    )
    g.add_argument(
        "--no_html",
        action="store_true",
        help="do not save intermediate training results to [opt.checkpoints_dir]/[opt.name]/web/",
    )
    g.add_argument(
        "--save_latest_freq",
        type=int,
        default=5000,
        help="frequency (in images) of saving the latest results",
    )
    g.add_argument(
        "--save_epoch_freq", type=int, default=5, help="frequency of saving checkpoints at the end of epochs"
    )
    g.add_argument("--save_by_iter", action="store_true", help="whether saves model by iteration")
    g.add_argument(
        "--keep_train_states",
        type=int,
        default=0,
        metavar="K",
        help="numbered epoch saves hold weights only (resumable the reference's way); keep the full training "
        "state (exact resume) for the last K of them too",
    )
    g.add_argument(
        "--continue_train",
        action="store_true",
        help="continue training: load the latest model (and, when saved, the full training state)",
    )
    g.add_argument(
        "--epoch_count",
        type=int,
        default=1,
        help="the starting epoch count; a resume with a saved training state sets it itself",
    )
    g.add_argument("--phase", type=str, default="train", help="train, val, test, etc")

    g = parser.add_argument_group("optimisation")
    g.add_argument(
        "--n_epochs", type=int, default=100, help="number of epochs with the initial learning rate"
    )
    g.add_argument(
        "--n_epochs_decay",
        type=int,
        default=100,
        help="number of epochs to linearly decay learning rate to zero",
    )
    g.add_argument("--beta1", type=float, default=0.5, help="momentum term of adam")
    g.add_argument("--lr", type=float, default=0.0002, help="initial learning rate for adam")
    g.add_argument(
        "--lr_G",
        type=float,
        default=None,
        help="generator learning rate (two time-scale update rule); default: --lr",
    )
    g.add_argument(
        "--lr_D",
        type=float,
        default=None,
        help="discriminator learning rate (two time-scale update rule); default: --lr",
    )
    g.add_argument(
        "--gan_mode", type=str, default="lsgan", help="the type of GAN objective. [vanilla| lsgan | wgangp]"
    )
    g.add_argument(
        "--pool_size",
        type=int,
        default=50,
        help="the size of image buffer that stores previously generated images",
    )
    g.add_argument(
        "--lr_policy",
        type=str,
        default="linear",
        help="learning rate policy. [linear | step | plateau | cosine]",
    )
    g.add_argument(
        "--lr_decay_iters",
        type=int,
        default=50,
        help="multiply by a gamma every lr_decay_iters epochs (step policy)",
    )

    g = parser.add_argument_group("speed and scale (not in the reference; all off by default)")
    g.add_argument(
        "--amp",
        type=str,
        default="none",
        choices=("none", "bf16", "fp16"),
        help="mixed precision autocast; fp16 adds a GradScaler per optimizer",
    )
    g.add_argument(
        "--channels_last", action="store_true", help="use channels_last memory format for networks and inputs"
    )
    g.add_argument("--compile", action="store_true", help="torch.compile the networks")
    g.add_argument(
        "--accum_steps",
        type=int,
        default=1,
        help="gradient accumulation: optimizer step every K batches (effective batch = K x batch_size x processes)",
    )
    g.add_argument(
        "--grad_checkpoint",
        action="store_true",
        help="activation checkpointing in the generators: less memory, more compute",
    )
    g.add_argument(
        "--fused_adam",
        action="store_true",
        help="Adam's fused kernel (CPU and CUDA); differs from the default update by float rounding only",
    )
    g.add_argument(
        "--noise_scale",
        action="store_true",
        help="log the gradient noise scale B_simple of G and D (McCandlish et al. 2018) with the losses; "
        "needs --batch_size >= 2 (even), --accum_steps >= 2 or torchrun, and no batch norm",
    )
    g.add_argument(
        "--noise_scale_ema",
        type=float,
        default=0.9,
        help="decay of the moving averages of |G|^2 and tr(Sigma) behind --noise_scale",
    )
    g.add_argument(
        "--no_progress", action="store_true", help="no progress bar even when the output is a terminal"
    )

    g = parser.add_argument_group(
        "validation, best checkpoint, EMA (not in the reference; all off by default)"
    )
    g.add_argument(
        "--val_freq",
        type=int,
        default=0,
        help="score the generator on --val_phase images every N epochs (0: never); see docs/validation.md",
    )
    g.add_argument(
        "--val_phase",
        type=str,
        default="val",
        help="the folder validation reads: DATAROOT/{val_phase} (aligned) or {val_phase}A/{val_phase}B (unaligned)",
    )
    g.add_argument("--num_val", type=int, default=50, help="how many validation images to score")
    g.add_argument(
        "--val_metrics",
        type=str,
        default="",
        help="comma-separated metrics (l1, psnr, ssim, lpips, fid, kid); default per model, see docs/validation.md",
    )
    g.add_argument(
        "--inception_weights",
        type=str,
        default=None,
        help="Inception weights file for fid/kid validation (offline; see docs/evaluation.md)",
    )
    g.add_argument(
        "--lpips_weights", type=str, default=None, help="AlexNet weights file for lpips validation (offline)"
    )
    g.add_argument(
        "--val_eval",
        action="store_true",
        help="validate in eval mode (dropout off, BatchNorm running statistics), as test.py --eval",
    )
    g.add_argument(
        "--save_best",
        type=str,
        default="",
        help="keep best_net_*.pth and best.json by this validation metric (one of --val_metrics)",
    )
    g.add_argument(
        "--ema_decay",
        type=float,
        default=0.0,
        help="keep an exponential moving average of the generators with this decay, e.g. 0.999 (0: off)",
    )
    return parser
