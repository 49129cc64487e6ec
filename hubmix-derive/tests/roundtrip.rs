//! A derived model really works: saved with `save_pretrained`, loaded with `from_pretrained`, it
//! gives the same outputs (Burn's `flex` CPU backend).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::Tensor;
use hubmix::{Device, HubModel, ModelHubMixin};

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
    pub d_hidden: usize,
    pub d_out: usize,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            fc1: LinearConfig::new(self.d_in, self.d_hidden).init(device),
            act: Relu::new(),
            fc2: LinearConfig::new(self.d_hidden, self.d_out).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, tags("mlp"), license = "mit")]
pub struct Mlp {
    fc1: Linear,
    act: Relu,
    fc2: Linear,
    #[module(skip)]
    config: MlpConfig,
}

impl Mlp {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(self.act.forward(self.fc1.forward(x)))
    }
}

/// An enum model, whose config comes from a function.
#[derive(Module, Debug, HubModel)]
#[hub(config = HeadConfig, config_fn = Head::config, init_fn = Head::new, layout = "pytorch")]
pub enum Head {
    Linear(Linear),
    Identity(Relu),
}

#[derive(Config, Debug)]
pub struct HeadConfig {
    pub width: Option<usize>,
}

impl Head {
    fn new(config: &HeadConfig, device: &Device) -> Self {
        match config.width {
            Some(width) => Head::Linear(LinearConfig::new(width, width).init(device)),
            None => Head::Identity(Relu::new()),
        }
    }

    fn config(&self) -> HeadConfig {
        match self {
            Head::Linear(linear) => HeadConfig::new().with_width(Some(linear.weight.val().dims()[0])),
            Head::Identity(_) => HeadConfig::new(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Head::Linear(linear) => linear.forward(x),
            Head::Identity(relu) => relu.forward(x),
        }
    }
}

fn values(tensor: Tensor<2>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().expect("f32 outputs")
}

fn input(device: &Device) -> Tensor<2> {
    Tensor::from_floats([[0.5, -1.0, 2.0, 0.25], [-0.75, 1.5, 0.0, -2.0]], device)
}

#[test]
fn mlp_round_trips_through_a_directory() {
    let device = Device::flex();
    let model = MlpConfig::new(4, 8, 3).init(&device);
    let expected = values(model.forward(input(&device)));

    let dir = tempfile::tempdir().expect("temp dir");
    let files = model.save_pretrained(dir.path()).expect("save_pretrained");
    for name in ["config.json", "model.safetensors", "README.md"] {
        assert!(dir.path().join(name).is_file(), "{name} missing; wrote {files:?}");
    }
    let config = std::fs::read_to_string(dir.path().join("config.json")).expect("config.json");
    assert!(
        config.contains("\"d_hidden\": 8") && config.contains("\"Mlp\""),
        "{config}"
    );
    let card = std::fs::read_to_string(dir.path().join("README.md")).expect("README.md");
    assert!(card.contains("license: mit") && card.contains("mlp"), "{card}");

    let loaded =
        Mlp::from_pretrained(dir.path().to_str().expect("UTF-8 path"), &device).expect("from_pretrained");
    assert_eq!(loaded.hub_config().d_hidden, 8);
    assert_eq!(values(loaded.forward(input(&device))), expected);
}

#[test]
fn enum_with_config_fn_round_trips_in_the_pytorch_layout() {
    let device = Device::flex();
    let head = Head::new(&HeadConfig::new().with_width(Some(4)), &device);
    let expected = values(head.forward(input(&device)));

    let dir = tempfile::tempdir().expect("temp dir");
    head.save_pretrained(dir.path()).expect("save_pretrained");
    let config = std::fs::read_to_string(dir.path().join("config.json")).expect("config.json");
    assert!(config.contains("pytorch"), "{config}");

    let loaded =
        Head::from_pretrained(dir.path().to_str().expect("UTF-8 path"), &device).expect("from_pretrained");
    assert!(matches!(loaded, Head::Linear(_)));
    assert_eq!(values(loaded.forward(input(&device))), expected);
}
