"""Train the shortcut network of exercise 3 and write data/shortcut_4v9.weights.h5 (~5 s).

Usage: CAM_EDU_OFFLINE=1 python scripts/train_shortcut_model.py
"""

from cam_edu.exercises.checks.lesson03 import train_shortcut_model

if __name__ == "__main__":
    train_shortcut_model()
    print("wrote data/shortcut_4v9.weights.h5")
