use burn::config::Config;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(HubModel)]
#[hub(config = MlpConfig)]
pub union Bits {
    int: u32,
    float: f32,
}

fn main() {}
