use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, licence = "mit", tag("mlp"), frobnicate = 1)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

fn main() {}
