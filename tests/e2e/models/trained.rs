//! A model saved or pushed straight after training: what it computes with is what is written.
//! Burn's BatchNorm keeps the last update of its running statistics pending until they are
//! synced; a save must write the synced statistics, so that the loaded model's eval outputs are
//! the trained model's, to the bit.

use burn::module::Module;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use hubmix::{LoadOptions, ModelHubMixin, PushOptions};
use hubmix_e2e::TestHub;

use super::archs::{Arch, Cnn, CnnConfig};
use super::support::{client, path_str};

/// A Conv2d + BatchNorm + Linear model trained `steps` SGD steps on an autodiff device.
fn trained(steps: usize) -> Cnn {
    let device = Device::flex().autodiff();
    let mut model = CnnConfig::new(2, 4, 6, 3).init(&device);
    let mut optimizer = SgdConfig::new().init();
    for step in 0..steps {
        let n = 4 * 2 * 6 * 6;
        let x: Vec<f32> = (0..n)
            .map(|i| ((i * 5 + step * 11) as f32 * 0.37).sin() * 2.0 + step as f32 * 0.1)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, [4, 2, 6, 6]), &device);
        let loss = model.forward(x).powf_scalar(2.0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.05, model, grads);
    }
    model
}

#[test]
fn a_model_saved_straight_after_training_loads_with_the_same_eval_outputs() {
    let model = trained(3);
    let dir = tempfile::tempdir().unwrap();
    model.save_pretrained(dir.path()).unwrap();
    let loaded = Cnn::from_pretrained(path_str(dir.path()), &Device::flex()).unwrap();
    let expected = model.valid().output();
    assert_eq!(
        loaded.output(),
        expected,
        "the loaded model computes what the trained one does"
    );
}

#[test]
fn a_model_pushed_straight_after_training_loads_with_the_same_eval_outputs() {
    let model = trained(2);
    let hub = TestHub::start();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&hub, cache.path());
    model
        .push_to_hub("alice/trained", &PushOptions::default().client(client.clone()))
        .unwrap();
    let loaded = Cnn::from_pretrained_with(
        "alice/trained",
        &Device::flex(),
        &LoadOptions::default().client(client),
    )
    .unwrap()
    .model;
    assert_eq!(loaded.output(), model.valid().output());
}
