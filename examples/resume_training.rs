//! Training checkpoints on the Hub, without the derive: train an MLP on synthetic data, push a
//! checkpoint (weights, Adam state, scheduler state, epoch, history) per epoch to the
//! `checkpoints` branch with the best one tagged `best`, then resume from the Hub in a fresh
//! instance and check that the resumed run follows the uninterrupted one exactly.
//!
//! ```sh
//! cargo run --example resume_training            # on an embedded hub
//! ```

use burn::config::Config;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use hubmix::{
    BurnOptions, EpochMetrics, Goal, HubCheckpoints, LoadOptions, PushOptions, from_pretrained_burn,
};

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
    pub d_hidden: usize,
}

/// A plain Burn module: no `#[derive(HubModel)]`, the function API does the Hub work.
#[derive(Module, Debug)]
pub struct Mlp {
    fc1: Linear,
    act: Relu,
    fc2: Linear,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            fc1: LinearConfig::new(self.d_in, self.d_hidden).init(device),
            act: Relu::new(),
            fc2: LinearConfig::new(self.d_hidden, 1).init(device),
        }
    }
}

impl Mlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(self.act.forward(self.fc1.forward(x)))
    }
}

const EPOCHS: usize = 4;
const STEPS_PER_EPOCH: u64 = 25;
const BATCH: usize = 32;

/// Batch `step` of the task y = sin(x·w): a function of the step, so runs are comparable.
fn batch(step: u64, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = (0..BATCH * 4)
        .map(|i| ((step * 7919 + i as u64) as f32 * 0.618).sin())
        .collect();
    let y: Vec<f32> = x
        .chunks(4)
        .map(|r| (r[0] + 2.0 * r[1] - r[2] + 0.5 * r[3]).sin())
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [BATCH, 4]), device),
        Tensor::from_data(TensorData::new(y, [BATCH, 1]), device),
    )
}

/// The validation loss on a fixed batch.
fn valid_loss(model: &Mlp, device: &Device) -> f64 {
    let (x, y) = batch(1_000_000, device);
    f64::from(
        (model.forward(x) - y)
            .powf_scalar(2.0)
            .mean()
            .into_scalar::<f32>(),
    )
}

struct Trainer {
    model: Mlp,
    optimizer: ModuleOptimizer,
    scheduler: ModuleLrScheduler,
    step: u64,
}

impl Trainer {
    /// One epoch; returns the mean training loss.
    fn epoch(&mut self, device: &Device) -> f64 {
        let mut total = 0.0;
        for _ in 0..STEPS_PER_EPOCH {
            self.step += 1;
            let (x, y) = batch(self.step, device);
            let loss = (self.model.forward(x) - y).powf_scalar(2.0).mean();
            total += f64::from(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
            let lr = self.scheduler.step();
            self.model = self.optimizer.step(lr, self.model.clone(), grads);
        }
        total / STEPS_PER_EPOCH as f64
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = hubmix_examples::hub()?;
    let device = Device::flex().autodiff();
    let config = MlpConfig::new(4, 32);
    let adam = AdamConfig::new();
    let cosine = CosineAnnealingLrSchedulerConfig::new(1e-2, EPOCHS * STEPS_PER_EPOCH as usize);
    let repo = format!("{}/resume-mlp", hub.namespace);

    // 1. Train, pushing a checkpoint per epoch to the `checkpoints` branch; the best
    //    (lowest validation loss) is tagged `best`.
    let mut trainer = Trainer {
        model: config.init(&device),
        optimizer: adam.init(),
        scheduler: cosine.init()?,
        step: 0,
    };
    let mut checkpoints =
        HubCheckpoints::new(hub.client.clone(), &repo, "checkpoints").monitor("valid_loss", Goal::Minimize);
    let mut history = Vec::new();
    let mut resumed_from = None;
    let mut continued = Vec::new();
    for epoch in 1..=EPOCHS {
        let train_loss = trainer.epoch(&device);
        let valid = valid_loss(&trainer.model, &device);
        history.push(
            EpochMetrics::new(epoch, trainer.step)
                .metric("train_loss", train_loss)
                .metric("valid_loss", valid),
        );
        let options = BurnOptions::default()
            .include_optimizer(&trainer.optimizer, &adam)
            .scheduler(&trainer.scheduler, &cosine)
            .epoch(epoch)
            .step(trainer.step)
            .history(history.clone())
            .hyperparameter("batch_size", BATCH)
            .plot_model(true)
            .push(PushOptions::default().client(hub.client.clone()));
        let pushed = checkpoints.push(&trainer.model, &config, &options)?;
        println!(
            "epoch {epoch}: train_loss {train_loss:.5}, valid_loss {valid:.5} -> pushed {}{}",
            &pushed.commit.oid[..12],
            if pushed.best { " (best)" } else { "" }
        );
        if epoch == 2 {
            resumed_from = Some(pushed.commit.oid.clone());
        }
        if epoch > 2 {
            continued.push(train_loss);
        }
    }

    // 2. "Another machine": resume from the epoch-2 checkpoint on the Hub into a fresh model,
    //    optimizer and scheduler, and train the last two epochs again.
    let commit = resumed_from.ok_or("no epoch-2 checkpoint")?;
    let mut loaded = from_pretrained_burn(
        &format!("{repo}@{commit}"),
        &device,
        MlpConfig::init,
        &LoadOptions::default().client(hub.client.clone()),
    )?;
    let optimizer = loaded.restore_optimizer(adam.init(), &adam)?;
    let scheduler = loaded.restore_scheduler(cosine.init()?, &cosine)?;
    let progress = loaded
        .progress()
        .ok_or("the checkpoint has no training state")?
        .clone();
    println!(
        "Resumed {repo}@{} at epoch {:?}, step {:?} (written by hubmix {}, Burn {}, {})",
        &commit[..12],
        progress.epoch,
        progress.step,
        progress.written_by.hubmix,
        progress.written_by.burn,
        progress.written_by.rust
    );
    let mut resumed = Trainer {
        model: loaded.model,
        optimizer,
        scheduler,
        step: progress.step.ok_or("no step saved")?,
    };
    for (i, expected) in continued.iter().enumerate() {
        let loss = resumed.epoch(&device);
        println!(
            "resumed epoch {}: train_loss {loss:.5} (uninterrupted run: {expected:.5})",
            i + 3
        );
        if loss != *expected {
            return Err(format!("the resumed run diverged: {loss} != {expected}").into());
        }
    }
    println!("The resumed run follows the uninterrupted one exactly.");

    let best = from_pretrained_burn(
        &format!("{repo}@best"),
        &device,
        MlpConfig::init,
        &LoadOptions::default().client(hub.client.clone()),
    )?;
    println!(
        "{repo}@best is epoch {:?}; files on the branch: {:?}",
        best.progress().and_then(|p| p.epoch),
        hub.client.list_repo_files(format!("{repo}@checkpoints"))?
    );
    Ok(())
}
