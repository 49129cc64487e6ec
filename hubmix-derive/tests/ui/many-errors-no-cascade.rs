use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

// Several mistakes are all reported in one build, and code that uses the model does not add
// errors of its own (the derive emits a stub impl beside the errors).
use hubmix::ModelHubMixin;

#[derive(Module, Debug, HubModel)]
#[hub(licence = "mit", tags = "mlp", layout = "onnx")]
pub struct Mlp {
    fc: Linear,
}

pub fn load(device: &hubmix::Device) -> Mlp {
    let model = Mlp::from_pretrained("alice/mlp", device).unwrap();
    let _config = model.hub_config();
    model
}

fn main() {}
