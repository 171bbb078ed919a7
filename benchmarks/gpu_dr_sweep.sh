#!/usr/bin/env bash
# The GPU sweep that chose the k=2 and k=64 presets (experiment=conv2_fashion, conv64_fashion) and measured what
# penalty=neighbour_embedding does at k=2: 8 train.py runs at once on one H100 (16 CPU cores, 2 threads each), then
# benchmarks/gpu_dr_score.py scores every last.ckpt on the validation split (the committed scores and presets came
# from its older version, which scored the test images). Run from the repository root on the GPU machine, with the
# Fashion-MNIST IDX files in $FASHION (default: $AELAB_FASHION_DIR, else Debian's /usr/share/datasets/fashion-mnist)
# and hydra-core/omegaconf on PYTHONPATH; run folders go to $OUT (default: outputs/benchmarks/gpu_dr_sweep):
#   bash benchmarks/gpu_dr_sweep.sh 1 > sweep1_scores.jsonl   (then: ... 2 to 7)
# Scores: benchmarks/results/gpu_dr_sweep/sweep<N>_scores.jsonl; results.md says what they show.
set -u
SWEEP=${1:-2}
FASHION=${FASHION:-${AELAB_FASHION_DIR:-/usr/share/datasets/fashion-mnist}}
OUT=${OUT:-outputs/benchmarks/gpu_dr_sweep}
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1 WANDB_MODE=offline OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
C="data=fashion_mnist data.data_dir=$FASHION logger=csv trainer=gpu callbacks.reconstructions=null"
C="$C callbacks.latent_averages=null callbacks.latent_probe.every_n_epochs=1000 model=conv_strided"
COS='model.scheduler={_target_:torch.optim.lr_scheduler.CosineAnnealingLR,_partial_:true,T_max:${trainer.max_epochs}}'
K2="model.latent_dim=2 model.encoder.dense_dims=[256] model.decoder.dense_dims=[256] data.batch_size=512"
K2="$K2 trainer.max_epochs=30 model.optimizer.lr=0.002"
K64="model.latent_dim=64 data.batch_size=256"
NB="penalty=neighbour_embedding data.neighbours=15"
B="$K2 data.batch_size=64 model.encoder.activation=gelu model.decoder.activation=gelu"  # sweep 4's s4: sweeps 5-7 start here
W=model.penalties.neighbour_embedding.weight
run() { n=$1; shift; timeout -k 5 ${RUN_SECONDS:-290} python3 train.py hydra.run.dir=$OUT/$n $C "$COS" "$@" > $OUT/$n.log 2>&1; }
mkdir -p $OUT
if [ "$SWEEP" = 3 ]; then  # 30 epochs each: cheap levers at k=64 (same CPU cost per epoch) and batch 128 at k=2
  E=trainer.max_epochs=30; ACT="model.encoder.activation=gelu model.decoder.activation=gelu"
  run p0 $K64 $E data.batch_size=128 &
  run p1 $K64 $E data.batch_size=128 model.optimizer.lr=0.002 &
  run p2 $K64 $E data.batch_size=128 $ACT &
  run p3 $K64 $E data.batch_size=64 &
  run p4 $K64 $E data.batch_size=128 model.encoder.channels=[48,96] model.decoder.channels=[96,48] &
  run p5 $K64 $E data.batch_size=128 model.encoder.activation=leaky_relu model.decoder.activation=leaky_relu &
  run q1 $K2 data.batch_size=128 model.optimizer.lr=0.001 &
  run q2 $K2 data.batch_size=128 &
elif [ "$SWEEP" = 4 ]; then  # sweep 3's winners combined, 30 epochs each
  E=trainer.max_epochs=30; ACT="model.encoder.activation=gelu model.decoder.activation=gelu"; LR=model.optimizer.lr
  run r1 $K64 $E data.batch_size=64 $LR=0.002 &
  run r2 $K64 $E data.batch_size=64 $ACT &
  run r3 $K64 $E data.batch_size=128 $LR=0.002 $ACT &
  run r4 $K64 $E data.batch_size=64 $LR=0.002 $ACT &
  run s1 $K2 data.batch_size=64 &
  run s2 $K2 data.batch_size=128 $LR=0.004 &
  run s3 $K2 data.batch_size=128 $ACT &
  run s4 $K2 data.batch_size=64 $ACT &
elif [ "$SWEEP" = 5 ]; then  # k=2 from sweep 4's s4 (batch 64, GELU, 30 epochs): regularizers and dense widths
  D=model.encoder.dense_dims; E=model.decoder.dense_dims
  run t0 $B &
  run t1 $B data.augment.max_shift=1 &
  run t2 $B data.augment.hflip=0.5 &
  run t3 $B model/optimizer=adamw model.optimizer.lr=0.002 model.optimizer.weight_decay=0.05 &
  run t4 $B $D=[128] $E=[128] &
  run t5 $B $D=[512] $E=[512] &
  run t6 $B trainer.max_epochs=20 &
  run t7 $B noise=gaussian model.noise.factor=0.1 &
elif [ "$SWEEP" = 6 ]; then  # more of sweep 5's kind, a second seed of t0, and a penalty-led 5-NN
  AW="model/optimizer=adamw model.optimizer.lr=0.002"
  run u0 $B seed=0 &  # t0 at another seed
  run u1 $B $AW model.optimizer.weight_decay=0.2 &
  run u2 $B model.decoder.dense_dims=[256,1024] &
  run u3 $B model.encoder.channels=[48,96] model.decoder.channels=[96,48] &
  run u4 $B model.optimizer.lr=0.001 &
  run u5 $B model.optimizer.lr=0.003 &
  run u6 $B $AW model.optimizer.weight_decay=0.05 data.augment.max_shift=1 &
  run u7 $K2 model.encoder.activation=gelu model.decoder.activation=gelu $NB $W=1.0 &
elif [ "$SWEEP" = 7 ]; then  # sweep 6's u2 (a 2 -> 256 -> 1024 decoder funnel) with sweeps 5-6's next best levers
  U2="$B model.decoder.dense_dims=[256,1024]"; GN="noise=gaussian model.noise.factor"; LR=model.optimizer.lr
  run v0 $U2 &
  run v1 $U2 $GN=0.1 &
  run v2 $U2 $LR=0.003 &
  run v3 $U2 $GN=0.1 $LR=0.003 &
  run v4 $U2 model.encoder.dense_dims=[1024,256] &
  run v5 $B model.decoder.dense_dims=[512,1024] &
  run v6 $U2 model.encoder.channels=[48,96] model.decoder.channels=[96,48] &
  run v7 $U2 $GN=0.2 &
elif [ "$SWEEP" = 1 ]; then
  run a2 $K2 &  # (b2-d2 of this sweep used an in-batch parametric t-SNE penalty, since replaced; not listed)
  run a64 $K64 trainer.max_epochs=30 &
  run b64 $K64 trainer.max_epochs=30 data.augment.hflip=0.5 data.augment.max_shift=1 &
  run c64 $K64 trainer.max_epochs=30 model.encoder.channels=[32,64,128] model.decoder.channels=[128,64,32] &
  run d64 $K64 trainer.max_epochs=20 model.encoder.channels=[64,128] model.decoder.channels=[128,64] &
else
  run n1 $K2 $NB $W=0.01 &
  run n2 $K2 $NB $W=0.03 &
  run n3 $K2 $NB $W=0.1 &
  run n4 $K2 $NB $W=0.3 &
  run n5 $K2 $NB $W=0.1 data.neighbours=5 &
  run m1 $K64 trainer.max_epochs=45 data.batch_size=128 &  # = experiment=conv64_fashion trainer=gpu
  run m2 $K64 trainer.max_epochs=45 model.optimizer.lr=0.002 &
  run m3 $K64 trainer.max_epochs=30 model.decoder.channels=[96,32] model.decoder.feature_channels=96 &
fi
wait
python3 -m benchmarks.gpu_dr_score --fashion-dir "$FASHION" $OUT/*/checkpoints/last.ckpt
