// Burn 0.22's `#[derive(Module)]` rejects tuple structs, but a hand-written `Module` impl works;
// these show the derive's own errors.
use burn::config::Config;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(HubModel)]
#[hub(config = MlpConfig)]
pub struct Mlp(Linear, MlpConfig);

#[derive(HubModel)]
#[hub(config = MlpConfig, config_field = config)]
pub struct Named(Linear, MlpConfig);

#[derive(HubModel)]
#[hub(config = MlpConfig, config_field = 2)]
pub struct OutOfRange(Linear, MlpConfig);

fn main() {}
