"""Which GAN settings pay: candidates trained with the real framework (`flik-lab train`), three seeds each.

Each run is a subprocess with `--threads` threads, `--jobs` at a time; the table reports per candidate the
mean and spread over seeds of the last and best val/fid (shipped classifier's features), the share of
1,000 samples from the last checkpoint that the classifier labels with softmax >= 0.9, and the wall time.
Usage: python bench/gan_quality.py --out outputs/gan_quality [--only A,B] [--seeds 42,43,44] [--jobs 2]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# name -> overrides on top of the current default (`flik-lab train`); widths, batch, lrs and epochs of the
# pre-issue-11 default are spelled out so the table does not move when the defaults do
DEFAULTS = "@defaults"  # first item of a candidate whose overrides go on today's defaults, not OLD_DEFAULT
OLD_DEFAULT = [
    "model.generator.width=32",
    "model.discriminator.width=32",
    "data.batch_size=32",
    "model.lr_g=6e-4",
    "model.lr_d=6e-4",
    "trainer.max_epochs=20",
    "model.ema_decay=null",
    "model.loss=nonsaturating",
    "model.discriminator.spectral_norm=false",
    "model.scheduler=null",
    "model.optimizer_g.betas=[0.5,0.999]",
    "model.optimizer_d.betas=[0.5,0.999]",
    "model.r1_gamma=null",
    "~model.optimizer_g.fused",
    "~model.optimizer_d.fused",
    "model.discriminator.kernel_size=4",
]
EMA = "model.ema_decay=0.999"
HINGE = "model.loss=hinge"
SN = "model.discriminator.spectral_norm=true"
# lr falling linearly to 0 by the last step (scheduler=warmup_linear as a value: it wins over OLD_DEFAULT)
DECAY = "model.scheduler={_target_:flik_lab.models.optimization.warmup_linear,_partial_:true,warmup_steps:0}"
BF16 = "trainer.precision=bf16-mixed"
BETAS_0_09 = ["model.optimizer_g.betas=[0.0,0.9]", "model.optimizer_d.betas=[0.0,0.9]"]
BETAS_0_099 = ["model.optimizer_g.betas=[0.0,0.99]", "model.optimizer_d.betas=[0.0,0.99]"]


def lr(g: float, d: float | None = None) -> list[str]:
    return [f"model.lr_g={g}", f"model.lr_d={d or g}"]


def r1(gamma: float, every: int = 1) -> list[str]:
    return [f"model.r1_gamma={gamma}", f"model.r1_every={every}"]


# lr constant for the first half, then falling linearly to 0 (scheduler=linear_decay as a value)
COOLDOWN = (
    "model.scheduler={_target_:flik_lab.models.optimization.linear_decay,_partial_:true,"
    "constant_fraction:0.5,min_lr_ratio:0.0}"
)
E30 = "trainer.max_epochs=30"


# round 2's best: hinge loss, lr 1.5e-3 falling linearly to 0, Adam betas (0, 0.9)
P7 = [EMA, HINGE, DECAY, *lr(1.5e-3), *BETAS_0_09]
# round 7's: P7 without the decay, the default since
V1 = [EMA, HINGE, *lr(1.5e-3), *BETAS_0_09]
LR1E3 = [EMA, HINGE, *lr(1e-3), *BETAS_0_09]
CANDIDATES = {
    # round 1 (16 runs at a time on a 16-core Intel Xeon, one thread each)
    "A_old_default": [],
    "B_ema999": [EMA],
    "C_ema995": ["model.ema_decay=0.995"],
    "D_ema9995": ["model.ema_decay=0.9995"],
    "E_ema_ttur": [EMA, *lr(3e-4, 9e-4)],
    "G_ema_lr1e-3": [EMA, *lr(1e-3)],
    "H_ema_hinge": [EMA, HINGE],
    "I_ema_hinge_sn": [EMA, HINGE, SN],
    "J_ema_sn": [EMA, SN],
    # K (real labels 0.9), L (instance noise 0.1 fading to 0) and R1/R2 (DiffAugment) ran with switches that
    # did not pay and were removed after measurement (commit cebf572 has them; bench/RESULTS.md)
    "M_ema_b64_30ep": [EMA, "data.batch_size=64", *lr(8e-4), "trainer.max_epochs=30"],
    "N_ema_hinge_sn_ttur": [EMA, HINGE, SN, *lr(3e-4, 1.2e-3), *BETAS_0_09],
    # round 2 (same machine): lr 1e-3 and hinge helped, EMA was neutral, FID still falling at epoch 20
    "P1_hinge_lr1e-3": [EMA, HINGE, *lr(1e-3)],
    "P2_lindecay_lr1e-3": [EMA, DECAY, *lr(1e-3)],
    "P3_hinge_lindecay_lr1e-3": [EMA, HINGE, DECAY, *lr(1e-3)],
    "P4_hinge_lindecay_lr1.5e-3": [EMA, HINGE, DECAY, *lr(1.5e-3)],
    "P5_hinge_lindecay_lr2e-3": [EMA, HINGE, DECAY, *lr(2e-3)],
    "P6_hinge_lindecay_g2e-3_d1e-3": [EMA, HINGE, DECAY, *lr(2e-3, 1e-3)],
    "P7_hinge_lindecay_lr1.5e-3_b09": P7,
    "P8_noema_hinge_lindecay_lr1.5e-3": [HINGE, DECAY, *lr(1.5e-3)],
    # round 3 (this 2-core machine): P7's recipe, the networks' widths traded against epochs at equal time
    "Q1_g32_d32_20ep": P7,
    "Q2_g64_d32_14ep": [*P7, "model.generator.width=64", "trainer.max_epochs=14"],
    "Q3_g48_d32_17ep": [*P7, "model.generator.width=48", "trainer.max_epochs=17"],
    "Q4_g32_d16_28ep": [*P7, "model.discriminator.width=16", "trainer.max_epochs=28"],
    # the defaults as `flik-lab train` runs them: P7 (= Q1) first, V1 since round 7
    "Z_new_default": [DEFAULTS],
    # round 5: around the new default, at equal time
    "S1_d16_28ep": [*P7, "model.discriminator.width=16", "trainer.max_epochs=28"],
    "S2_lr2e-3": [EMA, HINGE, DECAY, *lr(2e-3), *BETAS_0_09],
    "S3_b16_17ep": [*P7, "data.batch_size=16", *lr(1e-3), "trainer.max_epochs=17"],
    "S4_g48_d24_20ep": [*P7, "model.generator.width=48", "model.discriminator.width=24"],
    # round 6: the generator's input (nearest-neighbour upsampling + 3x3 convs instead of transposed convs
    # was tried in an uncommitted generator variant: 149.9, 1.4x the time; not kept)
    "T2_latent32": [*P7, "model.latent_dim=32"],
    # round 7: P7 run for 80 epochs (lr falling over 80) was at 110 by epoch 20 and 93.5 by epoch 28:
    # 20 epochs of falling lr stop it early
    "V1_const_lr": V1,
    "V2_const_lr2e-3": [EMA, HINGE, *lr(2e-3), *BETAS_0_09],
    "V3_const_bf16_24ep": [EMA, HINGE, *lr(1.5e-3), *BETAS_0_09, BF16, "trainer.max_epochs=24"],
    "V5_const_b16_lr1e-3_17ep": [
        EMA,
        HINGE,
        *lr(1e-3),
        *BETAS_0_09,
        "data.batch_size=16",
        "trainer.max_epochs=17",
    ],
    "V6_const_beta2_099": [EMA, HINGE, *lr(1.5e-3), *BETAS_0_099],
    # round 10 (the FID classifier now runs in float32: 30 epochs fit where 20 did); V1 plateaus near 111-115
    # from epoch 16 to 29, so: what moves the plateau
    "W1_30ep": [*V1, E30],
    # W2 (minibatch standard deviation in D's last layer) ran with a switch removed after measurement
    "W3_r1_30ep": [*V1, E30, *r1(1.0)],
    "W4_cooldown_30ep": [*V1, E30, COOLDOWN],
    "W5_ema9995_30ep": [*V1, E30, "model.ema_decay=0.9995"],
    "W6_lr1e-3_30ep": [*LR1E3, E30],
    # round 11: R1 and lr 1e-3 paid on seed 42; R1 costs 27 % of the time every batch, less when lazy
    "W7_lr1e-3_r1_30ep": [*LR1E3, E30, *r1(1.0)],
    "W8_lr1e-3_r1lazy4_30ep": [*LR1E3, E30, *r1(1.0, 4)],
    "W9_lr7e-4_30ep": [EMA, HINGE, *lr(7e-4), *BETAS_0_09, E30],
    # round 12: R1's weight, lazily every 4 batches
    "W10_lr1e-3_r1g3lazy4_30ep": [*LR1E3, E30, *r1(3.0, 4)],
    "W11_lr1e-3_r1g0.3lazy4_30ep": [*LR1E3, E30, *r1(0.3, 4)],
    # round 13: around R1's weight 3
    "W12_lr1e-3_r1g10lazy4_30ep": [*LR1E3, E30, *r1(10.0, 4)],
    "W13_lr1.5e-3_r1g3lazy4_30ep": [*V1, E30, *r1(3.0, 4)],
    "W14_lr1e-3_r1g3lazy8_30ep": [*LR1E3, E30, *r1(3.0, 8)],
    # round 14: with D held by R1, the learning rates and Adam's beta2
    "W16_g1e-3_d2e-3_r1g3lazy4_30ep": [EMA, HINGE, *lr(1e-3, 2e-3), *BETAS_0_09, E30, *r1(3.0, 4)],
    "W17_lr1e-3_b099_r1g3lazy4_30ep": [EMA, HINGE, *lr(1e-3), *BETAS_0_099, E30, *r1(3.0, 4)],
    # round 15: a faster generator, R1 more often
    "W18_g1.5e-3_d1e-3_r1g3lazy4_30ep": [EMA, HINGE, *lr(1.5e-3, 1e-3), *BETAS_0_09, E30, *r1(3.0, 4)],
    "W21_lr1e-3_r1g3lazy2_30ep": [*LR1E3, E30, *r1(3.0, 2)],
    # the check (2 threads, one run at a time): the new default (W10 with fused Adam) at fewer epochs, or
    # validated every second epoch, to fit the old default's wall time
    "Z28_new_default_28ep": [DEFAULTS, "trainer.max_epochs=28"],
    "Z32_new_default_32ep_val2": [DEFAULTS, "trainer.max_epochs=32", "trainer.check_val_every_n_epoch=2"],
    # round 16 (24 epochs, the default's length): D without BatchNorm (R1 alone), EMA horizon, D width
    "Z24_new_default": [DEFAULTS, "trainer.max_epochs=24"],
    # X1 (D without BatchNorm, R1 alone holding it: 130.4) ran with a switch removed after measurement
    "X2_ema99": [DEFAULTS, "trainer.max_epochs=24", "model.ema_decay=0.99"],
    "X3_d48": [DEFAULTS, "trainer.max_epochs=24", "model.discriminator.width=48"],
    # round 17 (2 threads, alone): matrix-product end layers and validation's kept real statistics make an
    # epoch 1.085x faster; the default run on to 40 epochs reads how many fit the old default's wall time
    "Z40_new_default_40ep": [DEFAULTS, "trainer.max_epochs=40"],
    # round 18 (2 threads, alone, the old default's wall time): a batch of 16 takes 0.6x the time of 32, so
    # 18 epochs of 250 batches (4,500 updates) fit where 25 of 125 do
    "K1_b16_18ep": [DEFAULTS, "data.batch_size=16", "trainer.max_epochs=18"],
    "K2_b16_lr7e-4_18ep": [DEFAULTS, "data.batch_size=16", *lr(7e-4), "trainer.max_epochs=18"],
    # the check's 27-epoch default is Z_new_default (seeds 45-47 and the older code ran from git worktrees)
    # round 21: R1's theory (Mescheder et al. 2018) and StyleGAN2 pair it with the non-saturating loss
    "Y1_nonsaturating": [DEFAULTS, "model.loss=nonsaturating"],
    # R1 removed the plateau that made every falling lr lose (rounds 2, 10): a cool-down over the last quarter
    "Y2_cooldown_last_quarter": [DEFAULTS, COOLDOWN.replace("fraction:0.5", "fraction:0.75")],
    "Y3_cooldown_last_half": [DEFAULTS, COOLDOWN],
    # round 24 (the relativistic pairing loss of R3GAN with R1 weights 1, 3 and 10; top-k generator updates,
    # Sinha et al. 2020) ran with switches removed after measurement: commit e43eb80 has them
    # round 25: D's stride-2 convolutions with 3x3 kernels, 0.56 of the multiply-adds of 4x4 (a step 1.14x as
    # fast): the epochs that fit the default's wall time
    "D3_d_kernel3_30ep": [DEFAULTS, "model.discriminator.kernel_size=3", "trainer.max_epochs=30"],
    # 5x5 kernels: 1.56x the multiply-adds, a step 1.13x as slow (25 epochs fit; epoch 24 of these runs)
    "D5_d_kernel5": [DEFAULTS, "model.discriminator.kernel_size=5"],
    # 6x6 and 7x7: a step 1.29x and 1.47x as slow (21 and 19 epochs fit)
    "D6_d_kernel6": [DEFAULTS, "model.discriminator.kernel_size=6"],
    "D7_d_kernel7": [DEFAULTS, "model.discriminator.kernel_size=7"],
    # which layer wants the large kernel: the first (1 -> 32 channels, cheap) or the second (32 -> 64)
    "D74_d_kernels_7_4": [DEFAULTS, "model.discriminator.kernel_size=[7,4]"],
    "D47_d_kernels_4_7": [DEFAULTS, "model.discriminator.kernel_size=[4,7]"],
}


def train(name: str, overrides: list[str], seed: int, out: Path, threads: int, extra: list[str]) -> dict:
    run_dir = out / f"{name}_s{seed}"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    on_defaults = overrides[:1] == [DEFAULTS]
    base = overrides[1:] if on_defaults else [*OLD_DEFAULT, *overrides]
    args = [*base, *extra, f"seed={seed}", f"hydra.run.dir={run_dir}", "test=false"]
    args += ["callbacks.progress_bar=null", "logger=csv"]
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "flik_lab.cli", "train", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return {"name": name, "seed": seed, "error": done.stderr[-2000:]}
    return {"name": name, "seed": seed, "wall_s": round(wall, 1), **_quality(run_dir)}


def _quality(run_dir: Path) -> dict:
    import pandas as pd
    import torch

    from flik_lab.models.mnist_classifier import load_pretrained
    from flik_lab.utils.checkpoint import read_checkpoint

    fid = pd.read_csv(run_dir / "csv" / "metrics.csv")["val/fid"].dropna()
    model = read_checkpoint(run_dir / "checkpoints" / "last.ckpt").model()
    with torch.no_grad():
        samples = model(model.noise(1000, generator=torch.Generator().manual_seed(0)))
        confident = (load_pretrained()(samples).softmax(1).max(1).values >= 0.9).float().mean().item()
    return {
        "last_fid": round(float(fid.iloc[-1]), 1),
        "best_fid": round(float(fid.min()), 1),
        "confident": round(confident, 3),
    }


def summarize(rows: list[dict]) -> str:
    import pandas as pd

    ok = pd.DataFrame([r for r in rows if "error" not in r])
    stats = ok.groupby("name").agg(
        seeds=("seed", "count"),
        last_fid=("last_fid", "mean"),
        last_fid_sd=("last_fid", "std"),
        best_fid=("best_fid", "mean"),
        confident=("confident", "mean"),
        wall_s=("wall_s", "mean"),
    )
    failed = [
        f"{r['name']} seed {r['seed']}: {r['error'].strip().splitlines()[-1]}" for r in rows if "error" in r
    ]
    return stats.round(3).to_string() + ("\nfailed:\n" + "\n".join(failed) if failed else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/gan_quality"))
    parser.add_argument("--only", default="", help="comma-separated candidate names (default: all)")
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--extra", nargs="*", default=[], help="overrides for every run (smoke tests)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {unknown}; expected some of {list(CANDIDATES)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [
        (n, CANDIDATES[n], s) for s in seeds for n in names
    ]  # seed-major: every candidate gets seed 1 first
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    rows = []
    with ThreadPoolExecutor(args.jobs) as pool, log.open("a") as f:
        for row in pool.map(lambda job: train(*job, args.out, args.threads, args.extra), jobs):
            rows.append(row)
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(json.dumps(row), flush=True)
    print(summarize(rows))


if __name__ == "__main__":
    main()
