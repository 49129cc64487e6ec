use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

// Not an error of the derive: the default `hub_init` calls `config.init(device)`, and the
// compiler says it is missing, pointing at the config type.
#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

fn main() {}
