use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, config_field = cfg)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    settings: MlpConfig,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, config_field = 1)]
pub struct Named {
    fc: Linear,
    #[module(skip)]
    settings: MlpConfig,
}

fn main() {}
