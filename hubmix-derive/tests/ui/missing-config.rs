use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(tags("mlp"))]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

#[derive(Module, Debug, HubModel)]
pub struct NoHubAttribute {
    fc: Linear,
}

fn main() {}
