"""The MDRNN: mixture density head (mdn), network (mdrnn), sampling (numpy only), model folder."""
