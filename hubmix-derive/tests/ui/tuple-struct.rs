use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig)]
pub struct Mlp(Linear, #[module(skip)] MlpConfig);

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, config_field = config)]
pub struct Named(Linear, #[module(skip)] MlpConfig);

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, config_field = 2)]
pub struct OutOfRange(Linear, #[module(skip)] MlpConfig);

fn main() {}
