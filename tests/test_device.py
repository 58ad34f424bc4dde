import pytest
import torch

from nanogpt_lite.device import configure_threads, default_device


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_one_thread_unless_the_user_chose(restore_threads):
    torch.set_num_threads(2)
    assert configure_threads({}) == 1


def test_the_users_choice_is_kept(restore_threads):
    torch.set_num_threads(2)
    assert configure_threads({"OMP_NUM_THREADS": "2"}) == 2  # torch read it itself; we leave it alone
    assert configure_threads({"NANOGPT_LITE_THREADS": "2"}) == 2


@pytest.mark.parametrize("bad", ["two", "0", "-1", "1.5"])
def test_a_bad_thread_count_is_named(restore_threads, bad):
    with pytest.raises(ValueError, match="NANOGPT_LITE_THREADS 必须是正整数.*positive integer"):
        configure_threads({"NANOGPT_LITE_THREADS": bad})


def test_default_device_is_cuda_only_when_available():
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
