# JupyterHub configuration for a class working through the nanoGPT FAQ notebooks.
# 一个班级用的 JupyterHub 配置（本系列的笔记本）。
#
# Copy it to the hub server (e.g. /etc/jupyterhub/jupyterhub_config.py), set CLASS_PASSWORD in the
# hub's environment, then start the hub with:  jupyterhub -f /etc/jupyterhub/jupyterhub_config.py
# 复制到服务器，在 hub 的环境里设置 CLASS_PASSWORD，然后用上面的命令启动。
#
# What tests/test_hub.py runs from this file (it loads it, then swaps the parts a laptop test cannot
# use; see classroom/README.md): the shared-password login, JupyterLab as the landing page, the limits
# being handed to each server (not their enforcement), the kernel culler settings, the idle culler
# service and its role (started and authorised; no cull within the test's minutes). Not run there:
# SystemdSpawner (needs root and systemd). / tests/test_hub.py 会加载这个文件；它没有运行的部分是 SystemdSpawner。
import os
import sys

c = get_config()  # noqa: F821  (JupyterHub provides get_config in its config files)

# --- Who can log in / 谁能登录 -------------------------------------------------------------------
# One password for the whole class; each learner picks a user name at the login page and gets their
# own server and folder under that name. The password must have at least 8 characters.
# 全班共用一个密码（至少 8 个字符）；每个学生在登录页自己起用户名，得到自己的服务器和目录。
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("CLASS_PASSWORD", "")
c.Authenticator.allow_all = True  # anyone with the password; list names in c.Authenticator.allowed_users to restrict
# c.Authenticator.admin_users = {"teacher"}  # then also set c.SharedPasswordAuthenticator.admin_password

# --- One server per learner, with limits / 每人一个服务器，带上限 -----------------------------------
# mem_limit and cpu_limit are only *passed* to each server (as MEM_LIMIT / CPU_LIMIT in its
# environment). Who enforces them is the spawner:
#   - LocalProcessSpawner (JupyterHub's default) does NOT enforce them: one learner can use all memory.
#   - SystemdSpawner (pip install jupyterhub-systemdspawner) runs each server in a systemd unit with
#     MemoryMax / CPUQuota: a kernel over the limit is killed ("kernel died"), the others go on.
#     The Littlest JupyterHub (TLJH) uses it; see classroom/tljh-config.sh.
#   - DockerSpawner / KubeSpawner enforce them through the container runtime.
# 上限只是传给每个服务器；LocalProcessSpawner 不执行上限，SystemdSpawner（TLJH 用它）和 Docker/Kubernetes 才执行。
# A chapter's kernel peaks at about 290-460 MiB (chapter 4 highest; `import torch` alone ~220 MiB):
# 1G leaves room for restarting a kernel or two chapters open at once.
c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
c.SystemdSpawner.dynamic_users = True  # no Linux account per learner; homes in /var/lib/private/{USERNAME}
c.Spawner.mem_limit = "1G"
c.Spawner.cpu_limit = 1.0
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]  # this Python's environment
c.Spawner.environment = {"OMP_NUM_THREADS": "1"}  # tiny models: one BLAS thread each, no spinning on a shared CPU

# --- Open JupyterLab / 打开 JupyterLab -------------------------------------------------------------
c.Spawner.default_url = "/lab"

# --- Widgets in saved notebooks / 保存的笔记本里的小部件 --------------------------------------------
# JupyterLab writes widget state into a notebook on save only with the widget manager's saveState setting
# (off by default: a saved chapter reopens with "Error displaying widget: model not found"). It is a file
# in the environment the servers run from, not a hub option: `make setup` / `make classroom` write it into
# .venv/share/jupyter/lab/settings/overrides.json, tljh-config.sh writes it for TLJH; anywhere else put
#     {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}
# into <that environment>/share/jupyter/lab/settings/overrides.d/nanogpt-faq.json.
# 这个设置是服务器所用环境里的一个文件，不是 hub 的选项；make setup 和 tljh-config.sh 会写好它。

# --- Idle servers and kernels / 空闲的服务器和内核 --------------------------------------------------
# Culling frees the memory of learners who left. What it does to their work:
#   - the notebook *file* stays (JupyterLab autosaves every 2 minutes; Ctrl+S saves now);
#   - the kernel is gone: every variable, trained model and the live state of every widget is lost.
#     A widget then shows its last saved picture, or an error "model not found", and no longer reacts.
#   - The learner reopens the chapter (the same nbgitpuller link) and runs Run → Run All Cells.
# 被回收后：文件还在，内核没了——变量、训练好的模型、小部件的状态都丢失，小部件不再响应；
# 学生重新打开这一章，点 Run → Run All Cells（运行 → 运行所有单元格）即可恢复。
#
# (1) Kernels idle for 30 minutes are shut down inside each server (jupyter_server, built in).
c.Spawner.args = [
    "--MappingKernelManager.cull_idle_timeout=1800",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",  # a kernel with a tab open is kept (True: culled too)
]
# Widget updates reach the browser without Nagle's algorithm holding them up to 40 ms (nanogpt_lite/websocket.py;
# `make setup` sets the same in the venv for `make lab`). 小部件的更新不再被 TCP 的 Nagle 算法拖延（最多 40 毫秒）。
c.Spawner.args.append("--ServerApp.kernel_websocket_connection_class=nanogpt_lite.websocket.NoDelayConnection")
# (2) Whole servers idle for 1 hour are stopped by the hub's idle culler service
#     (in requirements-classroom.lock and pip install ".[classroom]"; TLJH installs and enables it).
c.JupyterHub.load_roles = [
    {
        "name": "jupyterhub-idle-culler-role",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["jupyterhub-idle-culler-service"],
    }
]
c.JupyterHub.services = [
    {
        "name": "jupyterhub-idle-culler-service",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"],
    }
]

# --- nbgitpuller / 分发笔记本 ------------------------------------------------------------------------
# Nothing to configure: installing nbgitpuller in the same environment enables its /git-pull page in
# every learner's server. Make one link per chapter with
#   python -m nanogpt_lite.classroom link --hub https://YOUR-HUB --chapter 1
# A click clones the repository into the learner's home, or, later, merges the teacher's new commits
# into it while keeping the learner's edits (where both changed the same lines, the learner's wins).
# 用上面的命令为每一章生成链接；学生再点一次会合并老师的更新，保留学生自己的修改。
